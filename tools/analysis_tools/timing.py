"""Interleaved wall-clock timing of several callables in one process.

Machines drift (other processes, clock boost, thermal state), so timing one
model after the other measures the drift as much as the models. Here every
repeat runs each callable once, in an order rotated by one per repeat so
that each takes every position equally often, and the summaries are the
minimum (the least disturbed run) and the median (the typical one).
"""
import gc
import resource
import statistics
import time
from typing import Callable, Dict, List, Optional


CLOCKS = {
    # Elapsed time, what a user waits for.
    'wall': time.perf_counter,
    # CPU time of this process: time spent waiting for a core that other
    # processes hold is left out, so it is steadier on a shared machine
    # (with one thread; several threads add their spin-waiting to it).
    'cpu': time.process_time,
    # User-mode CPU time only: also leaves out the kernel's time, mostly
    # zeroing fresh pages for new tensors, whose cost varies with where
    # they land. Compare models with it only when they fault in the same
    # pages (the benchmark prints the page faults of each) and at one
    # thread.
    'user': lambda: resource.getrusage(resource.RUSAGE_SELF).ru_utime,
}

CLOCK_NAMES = {
    'wall': 'wall-clock time',
    'cpu': 'process CPU time',
    'user': 'user-mode CPU time',
}


def time_interleaved(steps: Dict[str, Callable[[], object]],
                     repeats: int,
                     warmup: int = 1,
                     synchronize: Optional[Callable[[], None]] = None,
                     clock: str = 'wall') -> Dict[str, List[float]]:
    """Seconds per call of each step, the steps' calls interleaved.

    Args:
        steps (dict[str, Callable]): Named callables taking no argument.
        repeats (int): Timed calls of each step.
        warmup (int): Untimed calls of each step first (allocator,
            oneDNN primitive caches, lazy initialisation). Defaults to 1.
        synchronize (Callable, optional): Waits for queued device work,
            e.g. ``torch.cuda.synchronize``; called before and after each
            timed call. Defaults to None.
        clock (str): A key of :data:`CLOCKS`. Defaults to ``'wall'``.

    Returns:
        dict[str, list[float]]: ``repeats`` durations per step, in seconds.
    """
    if repeats < 1:
        raise ValueError(f'repeats must be >= 1, got {repeats}')
    if clock not in CLOCKS:
        raise ValueError(f'clock must be one of {sorted(CLOCKS)}, got '
                         f'{clock!r}')
    now = CLOCKS[clock]
    sync = synchronize or (lambda: None)
    names = list(steps)
    for _ in range(warmup):
        for name in names:
            steps[name]()
    sync()
    times = {name: [] for name in names}
    # Collection pauses would land on whichever step happens to run.
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for r in range(repeats):
            shift = r % len(names)
            for name in names[shift:] + names[:shift]:
                sync()
                start = now()
                steps[name]()
                sync()
                times[name].append(now() - start)
    finally:
        if was_enabled:
            gc.enable()
    return times


def summarize(times: Dict[str, List[float]],
              baseline: str) -> Dict[str, Dict[str, float]]:
    """Minimum, median and their ratios to ``baseline``'s.

    Besides the ratios of the minimums and of the medians, ``paired_ratio``
    is the median over repeats of each repeat's own ratio: the two runs it
    divides ran back to back, so a slow spell on the machine that lasts
    longer than a repeat cancels out of it.

    Args:
        times (dict[str, list[float]]): Output of :func:`time_interleaved`.
        baseline (str): The key the ratios are relative to.

    Returns:
        dict[str, dict[str, float]]: Per step ``min``, ``median``,
        ``min_ratio``, ``median_ratio`` and ``paired_ratio``.
    """
    base = times[baseline]
    base_min, base_median = min(base), statistics.median(base)
    return {
        name: dict(
            min=min(values),
            median=statistics.median(values),
            min_ratio=min(values) / base_min,
            median_ratio=statistics.median(values) / base_median,
            paired_ratio=statistics.median(
                t / b for t, b in zip(values, base)))
        for name, values in times.items()
    }
