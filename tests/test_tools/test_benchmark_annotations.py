"""tools/benchmark_annotations.py at smoke-test scale (--quick); the COCO-
scale numbers are measured by hand (docs/troubleshooting.md)."""
import json
import re

import pytest
from analysis_tools.coco_scale import write_coco_like

from tool_modules import load_tool

benchmark = load_tool('benchmark_annotations')


def test_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        benchmark.parse_args(['--help'])
    assert exit_.value.code == 0
    assert 'examples:' in capsys.readouterr().out


def test_quick_run_times_both_builds(tmp_path, capsys):
    medians = benchmark.run(benchmark.parse_args(
        ['--quick', '--image-files', '--tmpdir', str(tmp_path)]))
    out = capsys.readouterr().out
    assert 'wrote 2,000 images, 14,000 annotations' in out
    assert re.search(r'ratio \(CPU\): \d+\.\d{3} \([+-]\d+\.\d\d s\)', out)
    assert set(medians) == {'plain', 'checked', 'images', 'check'}
    assert 0 < medians['check'] < medians['checked'][1]
    assert list(tmp_path.iterdir()) == []  # its data removed


def test_the_file_has_coco_train_s_shape(tmp_path):
    path = tmp_path / 'ann.json'
    written = write_coco_like(str(path), 300, 2000, 30,
                              image_folder=str(tmp_path / 'img'))
    data = json.loads(path.read_text())
    assert written == dict(images=300, instances=2000,
                           bytes=path.stat().st_size)
    assert [a['id'] for a in data['annotations']] == list(range(1, 2001))
    used = {a['image_id'] for a in data['annotations']}
    assert used <= set(range(1, 271))  # the last 30 have none
    assert len(data['categories']) == 80
    assert len(list((tmp_path / 'img').iterdir())) == 300
