"""Shorten or lengthen a config's epoch schedule from the command line."""
from typing import List, Optional

from mmengine.config import Config


def _scaled(value: int, ratio: float) -> int:
    return max(1, round(value * ratio))


def epoch_options(cfg: Config, epochs: int,
                  val_interval: Optional[int] = None) -> List[str]:
    """``--cfg-options`` that train ``cfg`` for ``epochs`` epochs.

    Epoch-based learning-rate schedulers are stretched with the schedule
    (milestones, ``begin``/``end``, ``T_max``), so a shorter run decays
    where the recipe decays, in proportion; iteration-based ones (the
    warm-up) are kept. The checkpoint is saved at the end.

    Args:
        cfg (Config): The loaded config.
        epochs (int): Training epochs.
        val_interval (int, optional): Validate every this many epochs (and
            at the end). Defaults to None: only at the end.

    Returns:
        list[str]: ``key=value`` strings for ``tools/train.py``.

    Raises:
        ValueError: If ``epochs`` or ``val_interval`` is not positive.
    """
    if epochs < 1:
        raise ValueError(f'epochs must be at least 1, got {epochs}')
    if val_interval is not None and val_interval < 1:
        raise ValueError(f'val_interval must be at least 1, got '
                         f'{val_interval}')
    old = cfg.train_cfg.max_epochs
    ratio = epochs / old
    options = [
        f'train_cfg.max_epochs={epochs}',
        f'train_cfg.val_interval={val_interval or epochs}',
        f'default_hooks.checkpoint.interval={epochs}',
    ]
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    for i, sched in enumerate(schedulers):
        if not sched.get('by_epoch', True):
            continue
        key = f'param_scheduler.{i}'
        scaled = {}
        for name in ('begin', 'end', 'T_max'):
            if name in sched and sched[name] is not None:
                value = min(sched[name], old)
                scaled[name] = 0 if value == 0 else _scaled(value, ratio)
        if 'begin' in scaled and scaled.get('end', 1) <= scaled['begin']:
            # a last phase that shrinks to nothing (YOLOX's final
            # ConstantLR, epochs 285-300, at 2 epochs: 2-2), which MMEngine
            # refuses: one epoch past the run, where it never acts
            scaled['end'] = scaled['begin'] + 1
        options += [f'{key}.{name}={value}' for name, value in scaled.items()]
        if 'milestones' in sched:
            milestones = [_scaled(m, ratio) for m in sched['milestones']]
            listed = ','.join(map(str, milestones))
            options.append(f'{key}.milestones=[{listed}]')
    return options
