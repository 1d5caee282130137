"""tools/benchmark.py and tools/get_flops.py on tiny inputs."""
import os
import re

import pytest
import torch

from freed_memory import bytes_given_back
from tool_modules import load_tool

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


benchmark = load_tool('benchmark')
get_flops = load_tool('get_flops')


def table_rows(text):
    """{backbone: [cells]} of every Markdown table row in ``text``."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip('|').split('|')]
        if line.startswith('| ') and not line.startswith('| backbone') \
                and not line.startswith('| model'):
            rows.setdefault(cells[0], []).append(cells[1:])
    return rows


@pytest.mark.parametrize('tool', [benchmark, get_flops])
def test_help(tool, capsys):
    with pytest.raises(SystemExit) as exit_:
        tool.parse_args(['--help'])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert 'examples:' in out and '--resolution' in out


def test_benchmark_eval_two_thread_counts(capsys):
    benchmark.main([
        '--depth', '18', '--batch', '1', '--resolution', '32x48',
        '--repeats', '1', '--warmup', '0', '--threads', '1', '2'
    ])
    out = capsys.readouterr().out
    assert out.count('inference forward; input 1x3x32x48') == 2
    assert 'threads 1,' in out and 'threads 2,' in out
    rows = table_rows(out)
    assert set(rows) == {'ResNet-18', 'ECAResNet-18', 'SEResNet-18'}
    for cells in rows['ResNet-18']:
        assert cells[2:5] == ['1.000'] * 3  # ratios to itself
        assert cells[6] == '1.000'
    for cells in rows['ECAResNet-18']:
        float(cells[0]), float(cells[5])  # a time and a peak in MiB
        assert int(cells[7]) >= 0  # page faults of one step
    assert 'load average' in out and 'torch.profiler' in out


def test_benchmark_train_step(capsys):
    benchmark.main([
        '--batch', '1', '--resolution', '64', '--repeats', '1', '--warmup',
        '0', '--threads', '1', '--mode', 'train', '--no-norm-eval',
        '--channels-last', '--clock', 'user', '--control'
    ])
    out = capsys.readouterr().out
    assert 'training step (forward + backward)' in out
    assert 'norm_eval=False' in out and 'channels_last' in out
    assert 'user-mode CPU time' in out
    assert set(table_rows(out)) == {'ResNet-50', 'ECAResNet-50',
                                    'SEResNet-50', 'ResNet-50 (copy)'}


def test_benchmark_rejects_a_bad_resolution(capsys):
    with pytest.raises(SystemExit):
        benchmark.parse_args(['--resolution', '32x'])
    assert 'expected HxW' in capsys.readouterr().err


def params_of(out, label):
    for line in out.splitlines():
        if line.startswith(f'| {label}'):
            return int(re.search(r'\| ([\d,]+) =', line).group(1).replace(
                ',', ''))
    raise AssertionError(f'no row {label!r} in\n{out}')


def test_get_flops_eca_adds_80_parameters_to_resnet50(capsys):
    get_flops.main(['ECAResNet-50', '--resolution', '64'])
    eca = capsys.readouterr().out
    get_flops.main(['ResNet-50', '--resolution', '64'])
    plain = capsys.readouterr().out
    assert params_of(eca, 'ECAResNet-50 backbone') == \
        params_of(plain, 'ResNet-50 backbone') + 80 == 23_508_112
    # the paper's 24.37M: the ImageNet model, in units of 2**20
    assert '25,557,112 = 25.56 M = 24.37 Mi' in eca
    assert 'input 1x3x64x64' in eca


def test_get_flops_from_a_config(capsys):
    get_flops.main([
        os.path.join(ROOT, 'configs', 'mask_rcnn_ecanet50_fpn_1x_coco.py'),
        '--resolution', '64'
    ])
    out = capsys.readouterr().out
    assert params_of(out, 'ECAResNet-50 backbone') == 23_508_112


def test_get_flops_unknown_name():
    with pytest.raises(ValueError, match='unknown backbone'):
        get_flops.main(['AlexNet-8'])


RUN_THE_TOOL = """
import importlib.util
import os
import sys
# as `python tools/benchmark.py` would: its folder holds analysis_tools
sys.path.insert(0, os.path.dirname(sys.argv[1]))
spec = importlib.util.spec_from_file_location('benchmark', sys.argv[1])
benchmark = importlib.util.module_from_spec(spec)
spec.loader.exec_module(benchmark)
benchmark.main(sys.argv[2:])
"""


def test_benchmark_retaining_freed_memory():
    # in a child process: retaining cannot be undone
    given_back, out = bytes_given_back(
        RUN_THE_TOOL, os.path.join(ROOT, 'tools', 'benchmark.py'),
        '--depth', '18', '--batch', '1', '--resolution', '64x64',
        '--repeats', '1', '--warmup', '0', '--threads', '1',
        '--retain-freed-memory')
    assert 'wall-clock time, freed memory retained' in out
    rows = table_rows(out)
    assert set(rows) == {'ResNet-18', 'ECAResNet-18', 'SEResNet-18'}
    # Per-step page faults are too few at this size to tell the allocators
    # apart (glibc's mmap threshold adapts to small tensors), so the flag is
    # checked by its effect: the tool left the process keeping what it
    # frees (glibc's default gives it back, test_allocator.py).
    assert given_back < 2**20


def test_benchmark_errors(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(SystemExit):
        benchmark.parse_args(['--device', 'cuda'])
    assert 'CUDA is not available' in capsys.readouterr().err

    def no_mallopt():
        raise RuntimeError('no mallopt here')

    monkeypatch.setattr(benchmark, 'retain_freed_memory', no_mallopt)
    with pytest.raises(SystemExit, match='error: --retain-freed-memory: '
                       'no mallopt here'):
        benchmark.main(['--retain-freed-memory'])
