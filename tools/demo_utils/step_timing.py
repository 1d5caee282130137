"""Where a training iteration's time goes: data, forward parts, backward.

Builds the config's runner as ``tools/train.py`` does, then times
``iters`` training iterations piece by piece: waiting for the data loader,
the data preprocessor, the forward of backbone + neck, RPN head and RoI
heads (loss computation, target assignment and sampling included), the
backward, and the optimizer step. Timings are wall-clock medians after
``warmup`` iterations, or, with ``clock='cpu'``, CPU seconds of the
calling thread: with one compute thread (``OMP_NUM_THREADS=1``) these stay
meaningful on a machine that other jobs keep busy.
"""
import statistics
import time
from collections import defaultdict
from typing import Dict

import torch
from mmengine.config import Config
from mmengine.runner import Runner

# 'forward' is the whole loss forward; the three after it are its parts
PARTS = ('data', 'preprocess', 'forward', 'backbone+neck', 'rpn_head',
         'roi_head', 'backward', 'optimizer')


CLOCKS = dict(wall=time.perf_counter, cpu=time.thread_time)


def _timed(times, name, fn, now):

    def wrapper(*args, **kwargs):
        start = now()
        out = fn(*args, **kwargs)
        times[name].append(now() - start)
        return out

    return wrapper


def time_training_steps(cfg: Config, iters: int = 20, warmup: int = 3,
                        clock: str = 'wall') -> Dict[str, float]:
    """Median seconds per iteration of each part of a training step.

    Args:
        cfg (Config): A two-stage detector config with a work dir.
        iters (int): Timed iterations. Defaults to 20.
        warmup (int): Untimed iterations first. Defaults to 3.
        clock (str): ``'wall'`` (elapsed time) or ``'cpu'`` (CPU time of
            this thread). Defaults to ``'wall'``.

    Returns:
        dict[str, float]: Per part in :data:`PARTS`, and ``total``.
    """
    now = CLOCKS[clock]
    runner = Runner.from_cfg(cfg)
    loader = runner.build_dataloader(cfg.train_dataloader)
    model = runner.model
    optim = runner.build_optim_wrapper(cfg.optim_wrapper)
    model.train()
    times = defaultdict(list)
    model.extract_feat = _timed(times, 'backbone+neck',
                                model.extract_feat, now)
    model.rpn_head.loss_and_predict = _timed(
        times, 'rpn_head', model.rpn_head.loss_and_predict, now)
    model.roi_head.loss = _timed(times, 'roi_head', model.roi_head.loss, now)
    batches = iter(loader)
    totals = []
    for i in range(warmup + iters):
        if i == warmup:
            times.clear()
        start = now()
        try:
            batch = next(batches)
        except StopIteration:
            batches = iter(loader)
            batch = next(batches)
        t_data = now()
        data = model.data_preprocessor(batch, True)
        t_pre = now()
        losses = model(**data, mode='loss')
        loss, _ = model.parse_losses(losses)
        t_fwd = now()
        optim.backward(loss)
        t_bwd = now()
        optim.step()
        optim.zero_grad()
        end = now()
        if i >= warmup:
            times['data'].append(t_data - start)
            times['preprocess'].append(t_pre - t_data)
            times['forward'].append(t_fwd - t_pre)
            times['backward'].append(t_bwd - t_fwd)
            times['optimizer'].append(end - t_bwd)
            totals.append(end - start)
    result = {p: statistics.median(times[p]) for p in PARTS if times[p]}
    result['total'] = statistics.median(totals)
    return result


def format_timing(result: Dict[str, float]) -> str:
    """One line per part: seconds and share of the total."""
    total = result['total']
    lines = [f'{"part":<14} {"s/iter":>8} {"share":>6}']
    for part in PARTS:
        if part in result:
            lines.append(f'{part:<14} {result[part]:8.3f} '
                         f'{100 * result[part] / total:5.0f}%')
    lines.append(f'{"total":<14} {total:8.3f}')
    return '\n'.join(lines)


if __name__ == '__main__':
    import argparse
    import os.path as osp
    import sys

    import mmdet_eca  # noqa: F401  (registers the ECA backbones)
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='detector config')
    parser.add_argument('--iters', type=int, default=20,
                        help='timed iterations')
    parser.add_argument('--work-dir', default='work_dirs/step_timing',
                        help='the runner\'s work dir')
    parser.add_argument('--clock', choices=sorted(CLOCKS), default='wall',
                        help='elapsed time, or CPU time of the main thread')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config')
    args = parser.parse_args()
    config = Config.fromfile(args.config)
    if args.cfg_options:
        config.merge_from_dict(args.cfg_options)
    config.work_dir = osp.abspath(args.work_dir)
    print(f'torch threads: {torch.get_num_threads()}', file=sys.stderr)
    print(format_timing(time_training_steps(config, args.iters,
                                            clock=args.clock)))
