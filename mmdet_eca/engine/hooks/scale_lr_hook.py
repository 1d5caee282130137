"""Scale the configured learning rate to the batch a run actually uses."""
import math
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.optim.scheduler import OneCycleParamScheduler
from mmengine.runner import EpochBasedTrainLoop

from mmdet.registry import HOOKS

from ...compat import accumulative_counts

# Absolute lr values that schedulers keep besides the optimizer's own lr:
# CosineAnnealingLR, CosineRestartLR and PolyLR stop at `eta_min`,
# ReduceOnPlateauLR at `min_values`. Unscaled, they would pull the scaled
# schedule towards the base-batch floor. `eta_min_ratio` is relative to the
# base lr and needs nothing.
_ABSOLUTE_LR_ATTRS = ('eta_min', 'min_values')
# MMDetection's schedules: 8 GPUs x 2 images
DEFAULT_BASE_BATCH_SIZE = 16


def _images_per_gpu(dataloader) -> int:
    if dataloader.batch_size is not None:
        return dataloader.batch_size
    # a batch sampler (mmdet's AspectRatioBatchSampler) leaves the
    # DataLoader's own batch_size None and holds the batch size itself
    batch_size = getattr(dataloader.batch_sampler, 'batch_size', None)
    if batch_size is None:
        raise ValueError('ScaleLRHook: cannot tell the images per GPU: set '
                         'train_dataloader.batch_size')
    return batch_size


def _named_wrappers(optim_wrapper) -> List[tuple]:
    if isinstance(optim_wrapper, OptimWrapperDict):
        return list(optim_wrapper.items())
    return [(None, optim_wrapper)]


def _lr_schedulers(param_schedulers) -> list:
    if not param_schedulers:
        return []
    lists = param_schedulers.values() if isinstance(
        param_schedulers, dict) else [param_schedulers]
    return [s for group in lists for s in group if s.param_name == 'lr']


def _scale(value, factor: float):
    if isinstance(value, (list, tuple)):
        return type(value)(v * factor for v in value)
    return value * factor


def _fmt(values: Sequence[float]) -> str:
    return ', '.join(f'{v:.6g}' for v in values)


@HOOKS.register_module()
class ScaleLRHook(Hook):
    """Scale the learning rate to the run's real batch, also after resume.

    MMDetection schedules are written for a base batch (8 GPUs x 2 images =
    16). This hook applies the linear scaling rule of Goyal et al.,
    "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour"
    (arXiv:1706.02677)::

        effective_batch = world_size * images_per_gpu * accumulative_counts
        factor = effective_batch / base_batch_size         # rule='linear'
        factor = sqrt(effective_batch / base_batch_size)   # rule='sqrt'

    ``images_per_gpu`` is the train dataloader's batch size and
    ``accumulative_counts`` the optim wrapper's gradient accumulation. Every
    param group's lr (so also ``paramwise_cfg`` groups) is multiplied by
    ``factor`` relative to its own configured lr, and so are the absolute
    floors of lr schedulers (``eta_min`` of CosineAnnealingLR, PolyLR,
    CosineRestartLR, ``min_value`` of ReduceOnPlateauLR), so warm-up, step
    and cosine schedules give ``factor`` times the configured values at
    every iteration (to float rounding). OneCycleLR sets its lr from its
    own ``eta_max``: it is refused, scale ``eta_max`` in the config instead.

    The configured lrs are recorded in ``before_run``, before a resume
    overwrites the optimizer and scheduler state, and the scaling is applied
    in ``before_train``, after the resume and before the first iteration.
    On resume the checkpoint only says how far the schedule has gone (its
    lr relative to its base lr); the base lr always comes from the config
    and this run's world size and batch. So resuming a 1-GPU checkpoint on
    2 GPUs trains with the 2-GPU lr, a checkpoint written without this hook
    gets the scaled lr, and resuming with the same set-up continues the
    same lr sequence as an uninterrupted run. (Reading the position as a
    ratio assumes the checkpoint's ``eta_min`` stood to its base lr as the
    config's do now; it does unless ``lr`` or ``eta_min`` was edited between
    the runs, and for schedules without a floor it does not matter.)

    MMEngine's ``auto_scale_lr`` applies the same rule, without gradient
    accumulation and only when the schedulers are built, so a resume brings
    the checkpoint's lr back. Both together would scale the lr twice: with
    ``auto_scale_lr.enable=True`` (e.g. ``tools/train.py --auto-scale-lr``)
    this hook raises a RuntimeError before training starts. Keep
    ``auto_scale_lr.enable=False`` and use this hook.

    With ``stop_on_nonfinite`` a NaN or infinite loss raises a
    FloatingPointError naming the iteration, the lr and the scaling, on all
    processes at the same iteration, instead of training on NaN.

    Args:
        base_batch_size (int, optional): Total batch the configured lr is
            meant for (GPUs x images per GPU of the schedule). None takes
            the config's ``auto_scale_lr.base_batch_size`` (16 in
            MMDetection's schedules), or 16 if it has none, so the base
            batch is written once. Defaults to None.
        rule (str): ``'linear'`` or ``'sqrt'``. Defaults to ``'linear'``.
        stop_on_nonfinite (bool): Stop training at the first non-finite
            ``loss``. Costs one tiny all-reduce per iteration in distributed
            runs. Defaults to True.

    Examples:
        >>> custom_hooks = [dict(type='ScaleLRHook')]
        >>> auto_scale_lr = dict(enable=False, base_batch_size=16)
    """

    # before LoggerHook, ParamSchedulerHook and CheckpointHook, so a NaN
    # iteration is stopped before its lr steps on or its weights are saved
    priority = 'ABOVE_NORMAL'

    def __init__(self,
                 base_batch_size: Optional[int] = None,
                 rule: str = 'linear',
                 stop_on_nonfinite: bool = True) -> None:
        if base_batch_size is not None and (
                not isinstance(base_batch_size, int) or base_batch_size < 1):
            raise ValueError('ScaleLRHook: base_batch_size must be a '
                             f'positive int, got {base_batch_size!r}')
        if rule not in ('linear', 'sqrt'):
            raise ValueError("ScaleLRHook: rule must be 'linear' or 'sqrt', "
                             f'got {rule!r}')
        self._given_base_batch_size = base_batch_size
        self.base_batch_size = base_batch_size or DEFAULT_BASE_BATCH_SIZE
        self.rule = rule
        self.stop_on_nonfinite = stop_on_nonfinite
        self.factor: Optional[float] = None
        self.effective_batch: Optional[int] = None
        self._recorded_for = None
        self._config_lrs: Dict[int, List[float]] = {}
        self._config_floors: Dict[int, dict] = {}

    def before_run(self, runner) -> None:
        """Refuse double scaling; record the configured lrs before resume."""
        # val/test runs never build the optimizer; a second train() on the
        # same runner must not take already scaled lrs as configured ones
        if not isinstance(runner.optim_wrapper, OptimWrapper) or \
                runner.optim_wrapper is self._recorded_for:
            return
        auto = runner.auto_scale_lr
        if auto and auto.get('enable', False):
            raise RuntimeError(
                'ScaleLRHook and auto_scale_lr.enable=True would both scale '
                'the lr: set auto_scale_lr.enable=False (drop '
                '--auto-scale-lr) and keep ScaleLRHook, which also handles '
                'resume and gradient accumulation')
        configured = (auto or {}).get('base_batch_size')
        if self._given_base_batch_size is None:
            self.base_batch_size = configured or DEFAULT_BASE_BATCH_SIZE
        elif configured and configured != self.base_batch_size:
            runner.logger.warning(
                f'ScaleLRHook: base_batch_size={self.base_batch_size} but '
                f"auto_scale_lr.base_batch_size={auto['base_batch_size']}; "
                'the hook uses its own')
        self._recorded_for = runner.optim_wrapper
        self._config_lrs = {
            id(wrapper): self._base_lrs(wrapper)
            for _, wrapper in _named_wrappers(runner.optim_wrapper)
        }
        self._config_floors = {}
        for scheduler in _lr_schedulers(runner.param_schedulers):
            if isinstance(scheduler, OneCycleParamScheduler):
                raise ValueError('ScaleLRHook cannot scale OneCycleLR, whose '
                                 'lr comes from its eta_max: remove the hook '
                                 'and scale eta_max in the config')
            self._config_floors[id(scheduler)] = {
                attr: getattr(scheduler, attr)
                for attr in _ABSOLUTE_LR_ATTRS
                if getattr(scheduler, attr, None) is not None
            }

    def before_train(self, runner) -> None:
        """Set every lr to ``factor`` x its configured schedule."""
        world_size = runner.world_size
        per_gpu = _images_per_gpu(runner.train_dataloader)
        factors = {}
        for name, wrapper in _named_wrappers(runner.optim_wrapper):
            accumulation = accumulative_counts(wrapper)
            self.effective_batch = world_size * per_gpu * accumulation
            ratio = self.effective_batch / self.base_batch_size
            self.factor = ratio if self.rule == 'linear' else math.sqrt(ratio)
            factors[id(wrapper)] = self.factor
            found = self._scale_groups(wrapper)
            label = '' if name is None else f" (optimizer '{name}')"
            runner.logger.info(
                f'ScaleLRHook{label}: world size {world_size} x '
                f'{per_gpu} images/GPU x accumulation {accumulation} = '
                f'effective batch {self.effective_batch}; base batch '
                f'{self.base_batch_size}; {self.rule} factor '
                f'{self.factor:.6g}; scaled base lr per param group: '
                f'{_fmt(self._base_lrs(wrapper))}')
            if runner.iter > 0:  # the train loop's position was resumed
                runner.logger.info(
                    f'ScaleLRHook{label}: resumed at iter {runner.iter} from '
                    f'an optimizer state with base lr {_fmt(found)}; now '
                    f'{_fmt(self._base_lrs(wrapper))} (the schedule position '
                    'is kept)')
        for scheduler in _lr_schedulers(runner.param_schedulers):
            factor = factors[id(scheduler.optimizer)]
            groups = scheduler.optimizer.param_groups
            scheduler.base_values = [g['initial_lr'] for g in groups]
            for attr, value in self._config_floors[id(scheduler)].items():
                setattr(scheduler, attr, _scale(value, factor))

    @staticmethod
    def _base_lrs(wrapper) -> List[float]:
        return [g.get('initial_lr', g['lr']) for g in wrapper.param_groups]

    def _scale_groups(self, wrapper) -> List[float]:
        """Scale ``wrapper``'s groups; return the base lrs found."""
        config_lrs = self._config_lrs[id(wrapper)]
        found = self._base_lrs(wrapper)
        for group, config_lr, current in zip(wrapper.param_groups,
                                             config_lrs, found):
            target = config_lr * self.factor
            if target == current:
                continue
            if current == 0:
                raise ValueError('ScaleLRHook: the resumed base lr is 0, so '
                                 'the schedule position is unknown')
            # `lr / base lr` is where the schedule stands: warm-up and
            # decays so far. Every MMEngine lr scheduler is linear in (lr,
            # base lr, floors), so scaling all of them by one number keeps
            # the schedule and all later steps exactly proportional.
            group['lr'] = group['lr'] * (target / current)
            if 'initial_lr' in group:
                group['initial_lr'] = target
        return found

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        """Stop at a non-finite loss, on every process at once."""
        if not self.stop_on_nonfinite or not outputs:
            return
        losses = [outputs['loss']] if 'loss' in outputs else [
            v for k, v in outputs.items() if 'loss' in k
        ]
        losses = [torch.as_tensor(v).detach() for v in losses]
        local_bad = any(not torch.isfinite(v).all() for v in losses)
        bad = torch.tensor(float(local_bad))
        if runner.world_size > 1:
            # one rank stopping alone would leave the others waiting in
            # the next gradient all-reduce
            all_reduce(bad, op='max')
        if bad.item() == 0:
            return
        where = _fmt([float(v.float().mean()) for v in losses]) \
            if local_bad else 'finite here, non-finite on another process'
        when = f'iter {runner.iter + 1}'
        if isinstance(runner.train_loop, EpochBasedTrainLoop):
            when += f' (epoch {runner.epoch + 1})'
        lrs = runner.optim_wrapper.get_lr()
        lr_text = '; '.join(f'{k} {_fmt(v)}' for k, v in lrs.items())
        raise FloatingPointError(
            f'ScaleLRHook: non-finite loss ({where}) at {when} with '
            f'{lr_text}; lr scaling: factor '
            f'{self.factor:.6g} ({self.rule}), effective batch '
            f'{self.effective_batch}, base batch {self.base_batch_size}. '
            'Training stopped rather than continue on NaN: lower the lr '
            '(a larger base_batch_size) or clip gradients.')
