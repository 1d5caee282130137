"""ScaleLRHook in one process: lr sequences, resume, NaN stop, refusals.

Expected lrs are computed in closed form (``scale_lr_toy.unscaled_lr``)
and compared with what the optimizer used at each of its steps.
"""
import math
from unittest.mock import MagicMock

import pytest
import torch
from torch.utils.data import BatchSampler, DataLoader, SequentialSampler

import mmdet_eca  # noqa: F401  (registers ScaleLRHook, allows resume)
from mmdet_eca.engine import build_runner
from mmdet_eca.engine.hooks import ScaleLRHook, scale_lr_hook

from . import scale_lr_toy as toy

REL = 1e-9


def train(work_dir, **kwargs):
    runner = build_runner(toy.make_cfg(str(work_dir), **kwargs))
    try:
        runner.train()
    except toy.StopHere:
        pass
    return runner


def records(runner):
    return toy.get_hook(runner, toy.LRRecorderHook).records


def expected(kind, factor, iters, mults=(1.0, )):
    # each group follows the schedule of its own configured lr (an absolute
    # eta_min is shared, so groups are not simply proportional)
    return [(t, [factor * toy.unscaled_lr(kind, t, base=m * toy.LR)
                 for m in mults]) for t in iters]


def assert_lrs(found, wanted):
    assert [t for t, _ in found] == [t for t, _ in wanted]
    for (t, lrs), (_, want) in zip(found, wanted):
        assert lrs == pytest.approx(want, rel=REL), f'iteration {t}'


def optimizer_steps(accumulation, start=0):
    # with accumulation the optimizer steps once every `accumulation` iters
    return [t for t in range(start, toy.MAX_ITERS)
            if (t + 1) % accumulation == 0]


@pytest.mark.parametrize('kind', toy.KINDS)
@pytest.mark.parametrize(
    'batch_size, accumulation, base, rule, factor',
    [(2, 1, 16, 'linear', 0.125), (2, 4, 4, 'linear', 2.0),
     (2, 1, 16, 'sqrt', math.sqrt(0.125))])
def test_lr_sequence(tmp_path, kind, batch_size, accumulation, base, rule,
                     factor):
    runner = train(
        tmp_path, kind=kind, batch_size=batch_size,
        accumulative_counts=accumulation,
        hook=dict(type='ScaleLRHook', base_batch_size=base, rule=rule))
    assert_lrs(records(runner),
               expected(kind, factor, optimizer_steps(accumulation)))
    hook = toy.get_hook(runner, ScaleLRHook)
    assert hook.factor == pytest.approx(factor)
    assert hook.effective_batch == batch_size * accumulation


def test_log_line(tmp_path):
    runner = train(tmp_path)
    assert ('ScaleLRHook: world size 1 x 2 images/GPU x accumulation 1 = '
            'effective batch 2; base batch 16; linear factor 0.125; scaled '
            'base lr per param group: 0.0025') in toy.log_text(runner)


def test_paramwise_groups(tmp_path):
    # one group per parameter; the head's groups have a tenth of the lr
    runner = train(
        tmp_path, kind='cosine',
        paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=0.1)}))
    mults = (1.0, 1.0, 0.1, 0.1)
    assert_lrs(records(runner),
               expected('cosine', 0.125, range(toy.MAX_ITERS), mults))
    assert 'per param group: 0.0025, 0.0025, 0.00025, 0.00025' in \
        toy.log_text(runner)


@pytest.fixture(scope='module', params=toy.KINDS)
def interrupted(request, tmp_path_factory):
    """A 1-process run (factor 0.125) stopped half-way (iteration 6, or
    epoch 1 = iteration 4), and where it stopped."""
    kind = request.param
    stop_at = 1 if kind == 'epoch' else 6
    runner = train(tmp_path_factory.mktemp(kind), kind=kind, stop_at=stop_at)
    stopped = stop_at * (toy.ITERS_PER_EPOCH if kind == 'epoch' else 1)
    assert len(records(runner)) == stopped
    return kind, toy.last_checkpoint(runner), stopped, records(runner)


def test_resume_same_setup_continues_sequence(tmp_path, interrupted):
    kind, ckpt, stopped, before = interrupted
    full = records(train(tmp_path / 'full', kind=kind))
    resumed = records(train(tmp_path / 'resumed', kind=kind,
                            resume_from=ckpt))
    assert [t for t, _ in resumed] == list(range(stopped, toy.MAX_ITERS))
    assert before + resumed == full  # exactly, not just approximately
    assert_lrs(full, expected(kind, 0.125, range(toy.MAX_ITERS)))


def test_resume_new_setup_follows_this_run(tmp_path, interrupted):
    # same checkpoint, now accumulating 4 batches: factor 0.5, not 0.125
    kind, ckpt, stopped, _ = interrupted
    runner = train(tmp_path, kind=kind, accumulative_counts=4,
                   resume_from=ckpt)
    assert_lrs(records(runner),
               expected(kind, 0.5, optimizer_steps(4, stopped)))
    assert (f'resumed at iter {stopped} from an optimizer state with base lr '
            '0.0025; now 0.01 ') in toy.log_text(runner)


def test_resume_unscaled_checkpoint(tmp_path):
    # the 2020 case: an epoch-based run trained at the 8-GPU lr without the
    # hook, resumed on one GPU with it; the checkpoint's lr must not win
    first = train(tmp_path / 'plain', kind='epoch', scale_lr=False,
                  stop_at=1)
    assert_lrs(records(first), expected('epoch', 1.0, range(4)))
    runner = train(tmp_path / 'scaled', kind='epoch',
                   resume_from=toy.last_checkpoint(first))
    assert_lrs(records(runner),
               expected('epoch', 0.125, range(4, toy.MAX_ITERS)))
    assert ('resumed at iter 4 from an optimizer state with base lr 0.02; '
            'now 0.0025 ') in toy.log_text(runner)


def test_second_train_call_does_not_scale_again(tmp_path):
    runner = train(tmp_path)
    runner.train()  # already at max_iters: only before_run/before_train
    group = runner.optim_wrapper.param_groups[0]
    assert group['initial_lr'] == pytest.approx(0.0025)


def test_val_or_test_runs_are_left_alone(tmp_path):
    # tools/test.py builds the same config: before_run without an optimizer
    runner = build_runner(toy.make_cfg(
        str(tmp_path), auto_scale_lr=dict(enable=True, base_batch_size=16)))
    hook = toy.get_hook(runner, ScaleLRHook)
    hook.before_run(runner)  # neither raises nor records
    assert hook._config_lrs == {}


def test_nonfinite_loss_stops(tmp_path):
    # items 2 and 3 are NaN: the 2nd iteration (index 1) sees them, in the
    # warm-up, so the lr reported is that iteration's, not the next one's
    with pytest.raises(FloatingPointError) as info:
        train(tmp_path, nan_from=2)
    message = str(info.value)
    for part in ('iter 2 ', 'lr 0.001;', 'factor 0.125', 'effective batch 2',
                 'base batch 16'):
        assert part in message


def test_nonfinite_loss_can_be_allowed(tmp_path):
    runner = train(tmp_path, nan_from=6, hook=dict(
        type='ScaleLRHook', base_batch_size=16, stop_on_nonfinite=False))
    assert runner.iter == toy.MAX_ITERS


def test_nonfinite_on_another_process_stops_all(monkeypatch):
    # the flag is reduced over processes, so a rank whose own loss is
    # finite stops at the same iteration as the rank that saw NaN
    def other_rank_saw_nan(flag, op):
        assert op == 'max'
        flag.fill_(1.0)

    monkeypatch.setattr(scale_lr_hook, 'all_reduce', other_rank_saw_nan)
    hook = ScaleLRHook(base_batch_size=16)
    hook.factor, hook.effective_batch = 0.25, 4
    runner = MagicMock(world_size=2, iter=9, epoch=0)
    runner.optim_wrapper.get_lr.return_value = {'lr': [0.005]}
    with pytest.raises(FloatingPointError, match='another process.*iter 10'):
        hook.after_train_iter(runner, 0, outputs=dict(loss=torch.tensor(1.)))

    monkeypatch.setattr(scale_lr_hook, 'all_reduce', lambda flag, op: None)
    hook.after_train_iter(runner, 0, outputs=dict(loss=torch.tensor(1.)))


def test_refuses_auto_scale_lr(tmp_path):
    with pytest.raises(RuntimeError, match='auto_scale_lr.enable=True'):
        train(tmp_path,
              auto_scale_lr=dict(enable=True, base_batch_size=16))


def test_warns_on_other_auto_scale_lr_base(tmp_path):
    runner = train(tmp_path,
                   auto_scale_lr=dict(enable=False, base_batch_size=32))
    assert 'auto_scale_lr.base_batch_size=32; the hook uses its own' in \
        toy.log_text(runner)


def test_refuses_one_cycle(tmp_path):
    cfg = toy.make_cfg(str(tmp_path))
    cfg.param_scheduler = [dict(type='OneCycleLR', eta_max=0.02,
                                by_epoch=False, total_steps=12)]
    with pytest.raises(ValueError, match='OneCycleLR'):
        build_runner(cfg).train()


@pytest.mark.parametrize('kwargs', [
    dict(base_batch_size=0), dict(base_batch_size=16.0), dict(rule='cube')
])
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError):
        ScaleLRHook(**kwargs)


def test_images_per_gpu_from_batch_sampler():
    # mmdet's AspectRatioBatchSampler leaves DataLoader.batch_size None
    data = list(range(10))
    loader = DataLoader(
        data, batch_sampler=BatchSampler(SequentialSampler(data), 3, False))
    assert loader.batch_size is None
    assert scale_lr_hook._images_per_gpu(loader) == 3
