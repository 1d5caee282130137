"""``tools/benchmark.py --family``: every family's none / ECA / SE models,
and the summary's verdict rule. Tiny sizes: speed itself is measured by
running the tool, not here."""
import math

import pytest
import torch

from analysis_tools import BenchmarkSettings, run_comparison
from analysis_tools.families import FAMILIES, build_family, family_inputs
from analysis_tools.summary import format_summary, summary_row, verdict
from mmdet_eca.layers.eca import ECAModule
from tool_modules import load_tool

benchmark = load_tool('benchmark')


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_each_family_has_none_eca_se_with_the_same_outputs(family):
    models = build_family(family, control=True)
    names = list(models)
    assert len(names) == 4 and names[3] == f'{names[0]} (copy)'
    none, eca, se, _ = models.values()
    # ECA only in the ECA model, an attention in the SE one
    assert not any(isinstance(m, ECAModule) for m in none.modules())
    assert any(isinstance(m, ECAModule) for m in eca.modules())
    assert not any(isinstance(m, ECAModule) for m in se.modules())
    assert (sum(p.numel() for p in se.parameters()) >
            sum(p.numel() for p in eca.parameters()) >
            sum(p.numel() for p in none.parameters()))
    size = (64, 64)
    x = family_inputs(family, 2, size)
    shapes = []
    for model in models.values():
        model.eval()
        with torch.no_grad():
            shapes.append([o.shape for o in model(x)])
    assert all(s == shapes[0] for s in shapes) and shapes[0]


@pytest.mark.parametrize('family,mode,memory', [
    ('mobilenetv2', 'train', True),
    ('neck', 'train', True),
    ('rtmdet', 'eval', False),
])
def test_run_comparison_times_a_family(family, mode, memory):
    result = run_comparison(
        BenchmarkSettings(family=family, batch=1, resolution=(64, 64),
                          mode=mode, repeats=1, warmup=0, control=True,
                          memory=memory, threads=1),
        log=lambda line: None)
    assert len(result.stats) == 4
    for st in result.stats.values():
        assert st['min'] > 0 and math.isfinite(st['paired_ratio'])
    assert bool(result.peak_bytes) == memory
    row = summary_row(result)
    assert row['family'] == family and row['mode'] == mode
    assert row['verdict'] == verdict(row['eca'], row['se'],
                                     row['eca_memory'], row['control'],
                                     family, mode)


@pytest.mark.parametrize('eca,se,memory,control,family,expected', [
    (0.05, 0.06, 1.0, None, 'neck', 'met'),           # no more than SE
    (0.05, 0.06, 1.0, None, 'resnet', 'not met (time)'),  # 3% cap
    (0.025, 0.06, 1.0, None, 'resnet', 'met'),
    (0.021, 0.02, 1.0, None, 'neck', 'not met (time)'),   # over SE
    (0.0, 0.03, 1.02, None, 'neck', 'not met (memory)'),
    (0.04, 0.03, 1.02, None, 'neck', 'not met (memory, time)'),
    (0.032, 0.03, 1.0, 0.005, 'neck', 'within noise'),  # A/A 0.5%
    (0.032, 0.03, 1.0, 0.001, 'neck', 'not met (time)'),
    (0.01, -0.01, None, None, 'neck', 'not met (time)'),  # SE free: 0%
    (-0.01, -0.01, None, None, 'neck', 'met'),
])
def test_the_target_rule(eca, se, memory, control, family, expected):
    assert verdict(eca, se, memory, control, family, 'eval') == expected


def test_summary_table_lists_every_row():
    rows = [dict(family='neck', mode='eval', batch=1, size='64x64',
                 threads=1, eca=0.01, se=0.09, control=0.002,
                 eca_memory=1.0, se_memory=1.02, verdict='met')]
    table = format_summary(rows)
    assert '| neck | eval | 1 | 64x64 | 1 | +1.0% | +9.0% | 0.11 ' in table


def test_command_line_writes_the_summary(tmp_path, capsys):
    out = tmp_path / 'summary.md'
    benchmark.main(['--family', 'yolox', '--batch', '1', '--resolution',
                    '64', '--repeats', '1', '--warmup', '0', '--threads',
                    '1', '--no-memory', '--markdown', str(out)])
    text = out.read_text()
    assert '| yolox | eval | 1 | 64x64 |' in text
    assert 'summary' in capsys.readouterr().out


@pytest.mark.parametrize('argv', [
    ['--family', 'nope'],
    ['--markdown', 'x.md'],
    ['--family', 'neck', '--efficientnet', 'b0'],
])
def test_bad_arguments_are_one_line_errors(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        benchmark.parse_args(argv)
    assert exc.value.code == 2
    assert 'error:' in capsys.readouterr().err
