"""Mean +/- std curves of loss and AP over training, one line per variant."""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import matplotlib

matplotlib.use('Agg')  # draw to files, also on machines without a display
import matplotlib.pyplot as plt  # noqa: E402

from mmdet_eca.fileio import atomic_path  # noqa: E402

from .runs import TASKS, RunResult  # noqa: E402


def mean_curve(curves: Sequence[Sequence[Tuple[int, float]]]):
    """Steps common to all curves, and the mean and std at each.

    Returns:
        tuple: ``steps``, ``means``, ``stds`` (std 0 for a single curve).
    """
    if not curves:
        return [], [], []
    common = set(s for s, _ in curves[0])
    for curve in curves[1:]:
        common &= set(s for s, _ in curve)
    steps = sorted(common)
    means, stds = [], []
    for step in steps:
        values = [dict(c)[step] for c in curves]
        mean = sum(values) / len(values)
        var = (sum((v - mean)**2 for v in values) / (len(values) - 1)
               if len(values) > 1 else 0.0)
        means.append(mean)
        stds.append(math.sqrt(var))
    return steps, means, stds


def _band(ax, steps, means, stds, label, marker):
    line, = ax.plot(steps, means, label=label, marker=marker)
    ax.fill_between(steps, [m - s for m, s in zip(means, stds)],
                    [m + s for m, s in zip(means, stds)],
                    color=line.get_color(), alpha=0.2)


def plot_study(results: Sequence[RunResult], variants: Sequence[str],
               out_file: str, early_iters: Optional[int] = None) -> None:
    """Save a PNG: total loss against iteration, and AP against epoch for
    each task the runs evaluated (bbox, segm), each the mean over seeds
    with a +/- one std band.

    Args:
        results (Sequence[RunResult]): Every finished run.
        variants (Sequence[str]): One line per variant, in this order.
        out_file (str): PNG to write.
        early_iters (int, optional): Add a panel of the loss over the first
            this many iterations, on a linear scale (the transfer study:
            where an inserted attention's start shows). Defaults to None.
    """
    tasks = [t for t in TASKS if any(r.ap.get(t) for r in results)]
    panels = 1 + bool(early_iters) + len(tasks)
    fig, axes = plt.subplots(1, panels, figsize=(5 * panels, 4.5))
    loss_ax = axes[0]
    early_ax = axes[1] if early_iters else None
    ap_axes = dict(zip(tasks, axes[1 + bool(early_iters):]))
    for variant in variants:
        runs: List[RunResult] = [r for r in results if r.variant == variant]
        if not runs:
            continue
        label = f'{variant} ({len(runs)} seeds)'
        steps, means, stds = mean_curve([r.loss for r in runs])
        _band(loss_ax, steps, means, stds, label,
              'o' if len(steps) < 20 else None)
        if early_ax is not None:
            early = [i for i, s in enumerate(steps) if s <= early_iters]
            _band(early_ax, [steps[i] for i in early],
                  [means[i] for i in early], [stds[i] for i in early],
                  label, 'o')
        for task, ax in ap_axes.items():
            steps, means, stds = mean_curve([r.ap[task] for r in runs])
            _band(ax, steps, means, stds, label, 'o')
    loss_ax.set_yscale('log')
    loss_ax.set_xlabel('iteration')
    loss_ax.set_ylabel('training loss (total)')
    if early_ax is not None:
        early_ax.set_xlabel('iteration')
        early_ax.set_ylabel(f'training loss, first {early_iters} '
                            'iterations')
    titles: Dict[str, str] = dict(bbox='bbox AP (val)', segm='segm AP (val)')
    for task, ax in ap_axes.items():
        ax.set_xlabel('epoch')
        ax.set_ylabel(titles[task])
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle('mean over seeds, band: +/- one standard deviation')
    fig.tight_layout()
    with atomic_path(out_file) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
