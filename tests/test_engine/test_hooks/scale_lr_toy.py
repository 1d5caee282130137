"""A tiny MMEngine training set-up for the ScaleLRHook tests.

A two-layer linear model on eight 2-d points, trained by MMEngine's Runner
for 12 iterations (or 3 epochs of 4), with a hook that records the lr of
every param group each time the optimizer steps. ``dist_scale_lr.py`` runs
the same set-up under torchrun.
"""
import itertools
import math
from typing import List, Optional

import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from torch import nn
from torch.utils.data import Dataset

from mmdet.registry import DATASETS, HOOKS, MODELS

LR = 0.02
MAX_ITERS = 12
ITERS_PER_EPOCH = 4  # 8 items, 2 per batch
WARMUP_END = 4  # LinearLR covers iterations 0..3
START_FACTOR = 0.1
MILESTONES = (8, 10)  # iterations
EPOCH_MILESTONES = (2, )
ETA_MIN = 1e-3
ETA_MIN_RATIO = 0.05
KINDS = ('step', 'cosine', 'cosine-ratio', 'epoch')

_names = itertools.count()


@MODELS.register_module()
class ScaleLRToyModel(BaseModel):
    """``head(backbone(x))`` with a squared-error loss."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(2, 2)
        self.head = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.head(self.backbone(torch.stack(inputs)))
        if mode == 'loss':
            return dict(loss=((out[:, 0] - torch.stack(data_samples))**2
                              ).mean())
        return out


@DATASETS.register_module()
class ScaleLRToyDataset(Dataset):
    """``length`` fixed points; items from ``nan_from`` on are NaN."""

    def __init__(self, length: int = 8, nan_from: Optional[int] = None):
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(length, 2, generator=gen)
        self.y = torch.randn(length, generator=gen)
        if nan_from is not None:
            self.x[nan_from:] = float('nan')

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return dict(inputs=self.x[i], data_samples=self.y[i])


@HOOKS.register_module()
class LRRecorderHook(Hook):
    """Record ``(iter, [lr of each group])`` at every optimizer step: the
    lr the optimizer really used, read inside ``optimizer.step``."""

    def __init__(self):
        self.records: List[tuple] = []

    def before_train(self, runner):
        optimizer = runner.optim_wrapper.optimizer
        step = optimizer.step

        # Wrapped on the instance, not as a step pre-hook: on torch 2.1,
        # once anything in the process has imported dynamo, optimizers'
        # steps no longer run their pre-hooks.
        def recorded_step(*args, **kwargs):
            self.records.append(
                (runner.iter, [g['lr'] for g in optimizer.param_groups]))
            return step(*args, **kwargs)

        optimizer.step = recorded_step


class StopHere(Exception):
    """Raised by :class:`StopAtHook` to end a run early."""


@HOOKS.register_module()
class StopAtHook(Hook):
    """Stop training after ``stop_at`` iterations (epochs if ``by_epoch``),
    once that checkpoint is written: an interrupted run with the schedule
    (and its ``end``) of the full run."""

    priority = 'LOWEST'  # after ParamSchedulerHook and CheckpointHook

    def __init__(self, stop_at: int, by_epoch: bool = False):
        self.stop_at = stop_at
        self.by_epoch = by_epoch

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if not self.by_epoch and runner.iter + 1 == self.stop_at:
            raise StopHere(self.stop_at)

    def after_train_epoch(self, runner):
        if self.by_epoch and runner.epoch + 1 == self.stop_at:
            raise StopHere(self.stop_at)


def schedule(kind: str) -> list:
    """LR schedulers, all with an explicit ``end`` so that no run length
    changes them: iteration-based LinearLR warm-up, then

    - ``'step'``: MultiStepLR at iterations 8 and 10;
    - ``'cosine'``: CosineAnnealingLR down to an absolute ``eta_min``;
    - ``'cosine-ratio'``: the same down to ``eta_min_ratio`` x base lr;
    - ``'epoch'``: epoch-based MultiStepLR at epoch 2, as in mmdet's
      schedule_1x.
    """
    warmup = dict(type='LinearLR', start_factor=START_FACTOR, by_epoch=False,
                  begin=0, end=WARMUP_END)
    cosine = dict(type='CosineAnnealingLR', by_epoch=False,
                  begin=WARMUP_END, end=MAX_ITERS)
    return [warmup, {
        'step': dict(type='MultiStepLR', milestones=list(MILESTONES),
                     gamma=0.1, by_epoch=False, begin=0, end=MAX_ITERS),
        'cosine': dict(cosine, eta_min=ETA_MIN),
        'cosine-ratio': dict(cosine, eta_min_ratio=ETA_MIN_RATIO),
        'epoch': dict(type='MultiStepLR', milestones=list(EPOCH_MILESTONES),
                      gamma=0.1, by_epoch=True, begin=0,
                      end=MAX_ITERS // ITERS_PER_EPOCH),
    }[kind]]


def unscaled_lr(kind: str, t: int, base: float = LR) -> float:
    """The configured (factor 1) lr at iteration ``t``, in closed form."""
    warm = START_FACTOR + (1 - START_FACTOR) * min(t, WARMUP_END - 1) / (
        WARMUP_END - 1)
    if kind == 'step':
        return base * warm * 0.1**sum(t >= m for m in MILESTONES)
    if kind == 'epoch':
        epoch = t // ITERS_PER_EPOCH
        return base * warm * 0.1**sum(epoch >= m for m in EPOCH_MILESTONES)
    if t < WARMUP_END:
        return base * warm
    eta_min = ETA_MIN if kind == 'cosine' else ETA_MIN_RATIO * base
    progress = (t - WARMUP_END) / (MAX_ITERS - WARMUP_END)
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * progress)) / 2


def make_cfg(work_dir: str,
             kind: str = 'step',
             batch_size: int = 2,
             accumulative_counts: int = 1,
             hook: Optional[dict] = None,
             scale_lr: bool = True,
             launcher: str = 'none',
             stop_at: Optional[int] = None,
             resume_from: Optional[str] = None,
             nan_from: Optional[int] = None,
             paramwise_cfg: Optional[dict] = None,
             auto_scale_lr: Optional[dict] = None) -> Config:
    """A Runner config for the toy set-up.

    Args:
        work_dir (str): Work dir of the run.
        kind (str): One of :data:`KINDS`, see :func:`schedule`. Defaults
            to ``'step'``.
        batch_size (int): Images per process. Defaults to 2.
        accumulative_counts (int): Gradient accumulation. Defaults to 1.
        hook (dict, optional): ScaleLRHook config; None for
            ``base_batch_size=16``.
        scale_lr (bool): Whether to use ScaleLRHook at all. Defaults to
            True.
        launcher (str): ``'none'`` or ``'pytorch'``. Defaults to ``'none'``.
        stop_at (int, optional): Save a checkpoint after this many
            iterations (epochs for ``kind='epoch'``) and stop there.
        resume_from (str, optional): Checkpoint to resume from.
        nan_from (int, optional): Dataset items from here on are NaN.
        paramwise_cfg (dict, optional): The optim wrapper's paramwise_cfg.
        auto_scale_lr (dict, optional): MMEngine's auto_scale_lr.
    """
    custom_hooks = [dict(type='LRRecorderHook')]
    if scale_lr:
        custom_hooks.append(
            hook or dict(type='ScaleLRHook', base_batch_size=16))
    by_epoch = kind == 'epoch'
    checkpoint = None
    if stop_at is not None:
        custom_hooks.append(
            dict(type='StopAtHook', stop_at=stop_at, by_epoch=by_epoch))
        checkpoint = dict(type='CheckpointHook', interval=stop_at,
                          by_epoch=by_epoch)
    if by_epoch:
        train_cfg = dict(type='EpochBasedTrainLoop',
                         max_epochs=MAX_ITERS // ITERS_PER_EPOCH)
        sampler = dict(type='DefaultSampler', shuffle=False)
    else:
        train_cfg = dict(type='IterBasedTrainLoop', max_iters=MAX_ITERS)
        sampler = dict(type='InfiniteSampler', shuffle=False)
    optim_wrapper = dict(
        type='OptimWrapper',
        optimizer=dict(type='SGD', lr=LR, momentum=0.9),
        accumulative_counts=accumulative_counts)
    if paramwise_cfg is not None:
        optim_wrapper['paramwise_cfg'] = paramwise_cfg
    cfg = dict(
        default_scope='mmdet',
        experiment_name=f'scale_lr_{next(_names)}',
        work_dir=work_dir,
        launcher=launcher,
        # SafeRunner runs launcher='pytorch' on CPU (gloo)
        runner_type='SafeRunner',
        model=dict(type='ScaleLRToyModel'),
        train_dataloader=dict(
            dataset=dict(type='ScaleLRToyDataset', nan_from=nan_from),
            sampler=sampler,
            batch_size=batch_size,
            num_workers=0),
        train_cfg=train_cfg,
        optim_wrapper=optim_wrapper,
        param_scheduler=schedule(kind),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=checkpoint),
        custom_hooks=custom_hooks,
        env_cfg=dict(dist_cfg=dict(backend='gloo')),
        randomness=dict(seed=0),
        log_level='INFO')
    if resume_from is not None:
        cfg.update(resume=True, load_from=resume_from)
    if auto_scale_lr is not None:
        cfg['auto_scale_lr'] = auto_scale_lr
    return Config(cfg)


def get_hook(runner, hook_type):
    return next(h for h in runner.hooks if isinstance(h, hook_type))


def last_checkpoint(runner) -> str:
    with open(f'{runner.work_dir}/last_checkpoint') as f:
        return f.read().strip()


def log_text(runner) -> str:
    with open(f'{runner.log_dir}/{runner.timestamp}.log') as f:
        return f.read()
