"""Mean and spread over seeds, per variant: the study's table and verdict.

The spread is the sample standard deviation over seeds (n - 1 in the
denominator). Two variants are called different only where their mean APs
differ by more than two standard errors of the difference
(``sqrt(s_a**2 / n_a + s_b**2 / n_b)``); otherwise the table says the
difference is within the spread of that many seeds.
"""
import math
from typing import Dict, List, Sequence

from .runs import TASKS, RunResult


def mean_std(values: Sequence[float]):
    """Mean and sample standard deviation (nan for fewer than 2 values)."""
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return float('nan'), float('nan')
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, float('nan')
    var = sum((v - mean)**2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(var)


def summarize(results: Sequence[RunResult], complexity: Dict[str, Dict],
              variants: Sequence[str]) -> List[Dict]:
    """One row per variant: AP, timing (mean and std over seeds) and size.

    Args:
        results (Sequence[RunResult]): Every finished run.
        complexity (dict): Per variant, ``params``, ``backbone_params`` and
            ``macs`` (see :func:`attention_study.complexity.measure`).
        variants (Sequence[str]): Row order.

    Returns:
        list[dict]: The rows.
    """
    rows = []
    for variant in variants:
        runs = [r for r in results if r.variant == variant]
        row = dict(variant=variant, seeds=[r.seed for r in runs])
        for task in TASKS:
            for metric in ('mAP', 'mAP_50', 'mAP_75'):
                key = f'{task}_{metric}'
                row[key] = mean_std(
                    [r.final.get(key, float('nan')) for r in runs])
        row['time'] = mean_std([r.time for r in runs])
        row['data_time'] = mean_std([r.data_time for r in runs])
        row.update(complexity.get(variant, {}))
        rows.append(row)
    return rows


def _pm(pair, digits=3) -> str:
    mean, std = pair
    if math.isnan(mean):
        return 'n/a'
    if math.isnan(std):
        return f'{mean:.{digits}f}'
    return f'{mean:.{digits}f} ± {std:.{digits}f}'


def _count(value, unit=1, digits=0) -> str:
    return 'n/a' if value is None else f'{value / unit:,.{digits}f}'


def compare(row_a: Dict, row_b: Dict, key: str) -> str:
    """How ``row_a`` differs from ``row_b`` in ``key``, in words."""
    (ma, sa), (mb, sb) = row_a[key], row_b[key]
    na, nb = len(row_a['seeds']), len(row_b['seeds'])
    diff = ma - mb
    if na < 2 or nb < 2 or math.isnan(sa) or math.isnan(sb):
        return f'{diff:+.3f} (one seed: no spread to judge it by)'
    se = math.sqrt(sa**2 / na + sb**2 / nb)
    if abs(diff) > 2 * se:
        verdict = 'larger than 2 standard errors'
    else:
        verdict = f'within the spread of {min(na, nb)} seeds'
    return f'{diff:+.3f} (standard error {se:.3f}: {verdict})'


def format_markdown(rows: Sequence[Dict], title: str, notes: str,
                    reference: str = 'eca') -> str:
    """The study as Markdown: the table, then ``reference`` against each
    other variant."""
    lines = [
        f'## {title}', '', notes, '',
        '| variant | seeds | bbox AP | segm AP | bbox AP50 | segm AP50 '
        '| parameters | backbone parameters | backbone+neck MMACs '
        '| s/iter | data s/iter |',
        '|---|---|---|---|---|---|---|---|---|---|---|'
    ]
    for r in rows:
        lines.append(
            f"| {r['variant']} | {len(r['seeds'])} | {_pm(r['bbox_mAP'])} "
            f"| {_pm(r['segm_mAP'])} | {_pm(r['bbox_mAP_50'])} "
            f"| {_pm(r['segm_mAP_50'])} "
            f"| {_count(r.get('params'))} "
            f"| {_count(r.get('backbone_params'))} "
            f"| {_count(r.get('macs'), 1e6, 1)} "
            f"| {_pm(r['time'])} | {_pm(r['data_time'])} |")
    by_name = {r['variant']: r for r in rows}
    eca = by_name.get(reference)
    if eca is not None:
        lines += ['', f'{reference} against the others (mean difference):',
                  '']
        for r in rows:
            if r is eca:
                continue
            for task in TASKS:
                if math.isnan(eca[f'{task}_mAP'][0]):
                    continue  # a task the model does not have (boxes only)
                lines.append(f"- {task} AP, {reference} - {r['variant']}: "
                             f"{compare(eca, r, f'{task}_mAP')}")
    return '\n'.join(lines) + '\n'


def paired_difference(results: Sequence[RunResult], a: str, b: str,
                      key: str = 'bbox_mAP') -> Dict:
    """``a - b`` of ``key`` seed by seed, over the seeds both ran, with a
    paired t-test (two-sided; scipy's ``ttest_rel`` arithmetic).

    A paired test fits the study's design: a seed fixes the data order and
    the detector's own initialisation in every variant alike, so the
    per-seed difference removes that share of the spread.

    Returns:
        dict: ``a``, ``b``, ``n`` seeds, ``mean`` and ``std`` of the
        differences, ``t``, ``p`` (nan for fewer than 2 seeds or no
        spread), ``diffs``.
    """
    from scipy import stats

    def by_seed(variant):
        return {r.seed: r.final.get(key, float('nan'))
                for r in results if r.variant == variant}

    values_a, values_b = by_seed(a), by_seed(b)
    seeds = sorted(set(values_a) & set(values_b))
    diffs = [values_a[s] - values_b[s] for s in seeds]
    mean, std = mean_std(diffs)
    t = p = float('nan')
    if len(diffs) > 1 and std > 0:
        t = mean / (std / math.sqrt(len(diffs)))
        p = float(2 * stats.t.sf(abs(t), len(diffs) - 1))
    return dict(a=a, b=b, n=len(diffs), mean=mean, std=std, t=t, p=p,
                diffs=diffs)


def format_paired(pairs: Sequence[Dict], key: str = 'bbox AP') -> List[str]:
    """Markdown lines, one per :func:`paired_difference`."""
    lines = []
    for d in pairs:
        if d['n'] < 2 or math.isnan(d['t']):
            lines.append(f"- {key}, {d['a']} - {d['b']}: {d['mean']:+.3f} "
                         f"({d['n']} paired seed(s): no test)")
            continue
        lines.append(
            f"- {key}, {d['a']} - {d['b']}: {d['mean']:+.3f} ± "
            f"{d['std']:.3f} over {d['n']} paired seeds (t = {d['t']:.2f}, "
            f"two-sided p = {d['p']:.3f}; {_verdict(d['p'])})")
    return lines


def _verdict(p: float) -> str:
    return ('a difference at the 5% level' if p < 0.05 else
            'no difference shown at the 5% level')
