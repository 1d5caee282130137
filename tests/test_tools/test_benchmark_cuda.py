"""tools/benchmark_cuda.py: smoke test on CPU with tiny models.

The numbers of a CPU run mean nothing; what is checked is that the one
script that measures the CUDA table runs end to end (backbone rows in fp32
and AMP, the Mask R-CNN training step) and writes the Markdown table.
"""
import pytest
import torch

from tool_modules import load_tool


def benchmark_tool():
    return load_tool('benchmark_cuda')


def test_quick_run_writes_the_table(tmp_path, capsys):
    out = tmp_path / 'table.md'
    code = benchmark_tool().main(
        ['--quick', '--device', 'cpu', '--modes', 'frozen', '--out',
         str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    text = out.read_text()
    assert text.strip() == printed.strip()
    rows = [line for line in text.splitlines() if line.startswith('| ')]
    assert rows[0].startswith('| setting |')
    body = rows[1:]
    assert [r.split(' | ')[:2] for r in body] == [
        ['| train step, norm_eval', 'fp32'],
        ['| train step, norm_eval', 'AMP'],
        ['| Mask R-CNN train step', 'fp32'],
        ['| Mask R-CNN train step', 'AMP'],
    ]
    for row in body[:3]:  # measured: every ratio a positive number
        cells = [c.strip() for c in row.strip('|').split('|')]
        ratios = [float(c) for c in cells[4:6] + cells[7:9] + cells[10:]]
        assert len(ratios) == 5
        assert all(r > 0 for r in ratios), row
    assert 'AMP on CUDA only' in body[3]  # mmcv's CPU ops are float32


@pytest.mark.skipif(torch.cuda.is_available(), reason='a GPU is present')
def test_cuda_without_a_gpu_is_one_line(capsys):
    assert benchmark_tool().main([]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'no CUDA device' in err[0]


def test_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        benchmark_tool().main(['--help'])
    assert exit_info.value.code == 0
    assert '--quick' in capsys.readouterr().out
