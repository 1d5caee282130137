"""tools/compare_attention.py --transfer --quick end to end: backbones
pretrained by mmpretrain's tools/train.py, detectors fine-tuned from them,
the table with its paired tests, the curves and ECA's weights per class."""
import json
import math
import os
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from conftest import REPO

# mmpretrain needs the torchvision of the registry's torch: CI runs these in
# the oldest-torch environment (make test-oldest-torch)
pytest.importorskip('mmpretrain', reason='pip install mmdet-eca[pretrain]')


def test_quick_transfer_study_end_to_end(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, 'tools/compare_attention.py', '--transfer',
         '--quick', '--variants', 'none', 'eca', '--jobs', '2',
         '--work-dir', str(tmp_path)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    with open(tmp_path / 'results.json') as f:
        study = json.load(f)
    assert study['transfer'] is True
    rows = {r['variant']: r for r in study['variants']}
    assert list(rows) == ['none', 'eca']
    for row in rows.values():
        assert row['seeds'] == [0, 1]
        assert not math.isnan(row['bbox_mAP'][0])
    # one pretraining per kind, by mmpretrain, validated on held-out images
    assert sorted(study['pretrained']) == ['eca', 'none']
    for kind, info in study['pretrained'].items():
        assert info['chance'] == 1 / 6
        assert 0 <= info['accuracy'][-1][1] <= 1
        weights = torch.load(info['checkpoint'],
                             map_location='cpu')['state_dict']
        assert 'head.fc.weight' in weights
        assert any('.eca.' in k for k in weights) == (kind == 'eca')
        cfg = Config.fromfile(str(tmp_path / 'configs' / f'{kind}.py'))
        assert cfg.model.backbone.init_cfg == dict(
            type='Pretrained', checkpoint=info['checkpoint'],
            prefix='backbone.')
    # the detector took every backbone tensor from its pretraining
    log = (tmp_path / 'runs' / 'eca' / 'seed0' / 'train.log').read_text()
    checkpoint = study['pretrained']['eca']['checkpoint']
    assert (f'model.backbone.init_cfg: {checkpoint} fills all' in log)
    markdown = (tmp_path / 'results.md').read_text()
    assert 'val top-1 eca ' in markdown and '(chance 0.167)' in markdown
    assert 'bbox AP, eca - none: ' in markdown
    assert 'over 2 paired seeds (t = ' in markdown or '(2 paired seed(s)' \
        in markdown
    assert (tmp_path / 'curves.png').stat().st_size > 10000
    assert (tmp_path / 'eca_weights.png').stat().st_size > 10000
