"""Every ECA-anywhere config (ECA plugins, ECA neck, RTMDet and YOLOX with
ECA, and the latter two's demo configs) trains one short epoch on generated shapes through MMDetection's own
tools/train.py and is evaluated by its tools/test.py: the configs need
nothing of this project's tools."""
import os
import os.path as osp
import re
import subprocess
import sys

import mmdet
import pytest
import torch

from tiny_runs import tiny_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MMDET_TOOLS = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools')
CONFIGS = {
    'configs/eca_plugins/mask-rcnn_x101-32x4d-eca_fpn_1x_coco.py':
    'backbone.layer4.2.eca.conv.weight',
    'configs/eca_plugins/faster-rcnn_regnetx-3.2GF-eca_fpn_1x_coco.py':
    'backbone.layer1.0.eca.conv.weight',
    'configs/eca_neck/faster-rcnn_r50_eca-fpn_1x_coco.py':
    'neck.eca.4.conv.weight',
    'configs/rtmdet/rtmdet_tiny-eca_8xb32-300e_coco.py':
    'backbone.stage4.2.attention.conv.weight',
    'configs/yolox/yolox_s-eca_8xb8-300e_coco.py':
    'backbone.stage4.2.attention.conv.weight',
    # their short runs on the demo's shapes (docs/add_eca.md)
    'configs/demo/rtmdet_tiny-eca_shapes_demo.py':
    'backbone.stage4.2.attention.conv.weight',
    'configs/demo/yolox_s-eca_shapes_demo.py':
    'backbone.stage4.2.attention.conv.weight',
}


def mmdet_tool(name, *args, cwd):
    """MMDetection's own tools/<name>.py, run in ``cwd``.

    This checkout goes on PYTHONPATH: it is the package a fresh clone
    installs (``pip install -e .``), here ahead of whichever copy the
    environment was built from.
    """
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1',
               PYTHONPATH=os.pathsep.join(
                   [REPO, os.environ.get('PYTHONPATH', '')]))
    return subprocess.run(
        [sys.executable, osp.join(MMDET_TOOLS, f'{name}.py'), *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize('config', CONFIGS)
def test_trains_an_epoch_and_tests_with_mmdet_tools(config, shapes_data,
                                                     tmp_path):
    # 4 training images in 2 iterations, 2 validation images, 96x96
    cfg = tiny_config(osp.join(REPO, config), shapes_data, tmp_path / 'work')
    cfg.randomness = dict(seed=0)
    path = str(tmp_path / 'config.py')
    cfg.dump(path)
    proc = mmdet_tool('train', path, cwd=tmp_path)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert 'Epoch(train) [1][2/2]' in log
    assert 'coco/bbox_mAP' in log  # validated after the epoch
    checkpoint = tmp_path / 'work' / 'epoch_1.pth'
    state = torch.load(checkpoint, map_location='cpu')['state_dict']
    # the ECA is where the config put it, under its documented name
    assert state[CONFIGS[config]].dim() == 3
    # the plugin blocks compute the fused tail (FuseECAPluginsHook)
    fused = re.search(r'FuseECAPluginsHook: (\d+) blocks', log)
    if 'eca_plugins' in config:
        assert fused and int(fused.group(1)) > 0
    else:
        assert fused is None

    proc = mmdet_tool('test', path, str(checkpoint), cwd=tmp_path)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert 'coco/bbox_mAP' in log
    if 'mask-rcnn' in config:
        assert 'coco/segm_mAP' in log
