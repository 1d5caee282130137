"""tools/check_execution_paths.py on a small ECA-ResNet-18."""
import pytest

from tool_modules import load_tool


def check_tool():
    return load_tool('check_execution_paths')


def test_prints_each_paths_difference(capsys):
    # torch.compile and the dynamo exporter take a while on CPU; the
    # layer tests cover them
    assert check_tool().main(['--depth', '18', '--size', '32', '48',
                              '--skip', 'compile', 'dynamo']) == 0
    rows = {}
    for line in capsys.readouterr().out.splitlines():
        cells = [c.strip() for c in line.strip('|').split('|')]
        if line.startswith('| ') and len(cells) == 5 and cells[0] != 'path':
            rows[cells[0]] = cells[1:]
    assert rows['eager'][0] == 'yes' and rows['torch.jit.trace'][0] == 'no'
    assert rows['torch.compile (inductor)'][0].startswith('skipped')
    for name, (_, _, relative, _) in rows.items():
        if relative and 'autocast' not in name:
            assert float(relative) <= 1e-4, name
    assert float(rows['autocast bfloat16'][2]) <= 2 * float(
        rows['autocast bfloat16, paper formulation'][2])


def test_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        check_tool().main(['--help'])
    assert exit_info.value.code == 0
    assert '--skip' in capsys.readouterr().out
