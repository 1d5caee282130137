"""One line per measured setting: ECA's and SE's overhead and the verdict.

The target for every family: ECA's overhead over the model without
attention is no larger than SE's, and ECA-ResNet-50's inference is at most
3% over ResNet-50's; ECA's peak memory is within 1% of the model without
attention. Overheads are paired ratios minus one (the median over repeats
of two runs made back to back, :func:`.timing.summarize`).

A verdict is only as good as the machine's noise, which the A/A copy
(``--control``) measures: two identical models that differ by ``a``
percent say that a difference of ``a`` percent is not evidence. So where
ECA's overhead is within ``|a|`` of the time limit (on either side) the
time verdict is 'within noise' rather than 'met' or 'not met'. Memory is
deterministic and needs no such margin.
"""
from typing import Dict, List, Optional

from .compare import BenchmarkResult

MEMORY_LIMIT = 1.01


RESNET_EVAL_LIMIT = 0.03


def time_limit(se_overhead: float, family: str = '', mode: str = '') -> float:
    """The most overhead ECA may have next to SE's ``se_overhead``."""
    limit = max(se_overhead, 0.)
    if family == 'resnet' and mode == 'eval':
        limit = min(limit, RESNET_EVAL_LIMIT)
    return limit


def verdict(eca: float, se: float, memory: Optional[float],
            control: Optional[float] = None, family: str = '',
            mode: str = '') -> str:
    """'met', 'not met (time)', 'not met (memory)', 'within noise' or a
    combination, for ECA's overhead ``eca``, SE's ``se`` (fractions), ECA's
    peak-memory ratio ``memory`` and the A/A copy's overhead ``control``.
    """
    failures = []
    if memory is not None and memory > MEMORY_LIMIT:
        failures.append('memory')
    limit = time_limit(se, family, mode)
    if control is not None and abs(eca - limit) <= abs(control):
        time = 'within noise'
    else:
        time = 'met' if eca <= limit else 'not met'
    if time == 'not met':
        failures.append('time')
    if failures:
        return f'not met ({", ".join(failures)})'
    return time


def summary_row(result: BenchmarkResult) -> Dict[str, object]:
    """The numbers of one setting: models are baseline, ECA, SE, copy."""
    s = result.settings
    names = list(result.stats)
    eca, se = names[1], names[2]
    copy = names[3] if len(names) > 3 else None

    def overhead(name):
        return result.stats[name]['paired_ratio'] - 1

    def memory(name):
        base = result.peak_bytes.get(result.baseline)
        peak = result.peak_bytes.get(name)
        return peak / base if peak is not None and base else None

    row = dict(
        family=s.family or 'resnet', mode=s.mode, batch=s.batch,
        size=f'{s.resolution[0]}x{s.resolution[1]}',
        threads=s.threads, eca=overhead(eca), se=overhead(se),
        control=overhead(copy) if copy else None,
        eca_memory=memory(eca), se_memory=memory(se))
    row['verdict'] = verdict(row['eca'], row['se'], row['eca_memory'],
                             row['control'], row['family'], row['mode'])
    return row


def _percent(value):
    return '-' if value is None else f'{value * 100:+.1f}%'


def _ratio(value):
    return '-' if value is None else f'{value:.3f}'


def format_summary(rows: List[Dict[str, object]]) -> str:
    """The rows as a Markdown table."""
    lines = [
        '| family | mode | batch | size | threads | ECA | SE | ECA / SE '
        '| A/A | memory ECA | memory SE | target |',
        '|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|',
    ]
    for r in rows:
        share = (f'{r["eca"] / r["se"]:.2f}' if r['se'] > 0.005 else '-')
        lines.append(
            f'| {r["family"]} | {r["mode"]} | {r["batch"]} | {r["size"]} '
            f'| {r["threads"] or "-"} | {_percent(r["eca"])} '
            f'| {_percent(r["se"])} | {share} | {_percent(r["control"])} '
            f'| {_ratio(r["eca_memory"])} | {_ratio(r["se_memory"])} '
            f'| {r["verdict"]} |')
    lines += [
        '', 'ECA, SE, A/A: overhead over the model without attention '
        '(paired ratio - 1); target: ECA <= SE, and <= 3% for resnet eval; '
        'memory ECA <= 1.01 (within noise: ECA is within |A/A| of the time '
        'limit)'
    ]
    return '\n'.join(lines)
