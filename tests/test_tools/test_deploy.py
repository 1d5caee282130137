"""tools/deploy.py: a whole ECA detector through mmdeploy to onnxruntime.

The detector is the shipped ECA RetinaNet config made small (an
ECA-ResNet-50 of base width 8, a 32-channel FPN and head, 256 x 256
images), with random weights whose classifier is scaled and shifted so
that scores spread out: the check then compares distinct detections, not
near-ties.
"""
import importlib.util
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from tool_modules import load_tool

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec('mmdeploy') is None
    or importlib.util.find_spec('onnxruntime') is None,
    reason='needs mmdeploy and onnxruntime (scripts/setup_env.sh installs '
    'them)')

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SIZE = (256, 256)


def tiny_retinanet(path):
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/retinanet_ecanet50_fpn_1x_coco.py'))
    cfg.model.backbone.update(base_channels=8, init_cfg=None)
    cfg.model.neck.update(in_channels=[32, 64, 128, 256], out_channels=32)
    cfg.model.bbox_head.update(in_channels=32, feat_channels=32)
    for step in cfg.test_dataloader.dataset.pipeline:
        if step.type == 'Resize':
            step.scale = SIZE
    cfg.dump(str(path))
    return cfg


@pytest.fixture(scope='module')
def detector(tmp_path_factory):
    """(config, checkpoint, image) of a small random ECA RetinaNet."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    import mmcv
    register_all_modules()
    root = tmp_path_factory.mktemp('deploy')
    cfg = tiny_retinanet(root / 'retinanet_tiny_eca.py')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    with torch.no_grad():
        model.bbox_head.retina_cls.weight.normal_(0, 0.3)
        model.bbox_head.retina_cls.bias.uniform_(-3, 0)
    checkpoint = root / 'retinanet.pth'
    torch.save({'meta': {}, 'state_dict': model.state_dict()}, checkpoint)
    image = root / 'image.png'
    rng = np.random.default_rng(0)
    mmcv.imwrite(rng.integers(0, 256, (*SIZE, 3), dtype=np.uint8),
                 str(image))
    return str(root / 'retinanet_tiny_eca.py'), str(checkpoint), str(image)


def run(capsys, *args):
    code = load_tool('deploy').main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_deploy_matches_pytorch(detector, tmp_path, capsys):
    output = tmp_path / 'out' / 'retinanet.onnx'
    code, stdout, err = run(capsys, *detector, output)
    assert code == 0, err
    assert output.is_file()
    assert 'onnxruntime vs PyTorch: 10 of 10 top detections match' in stdout
    # the export's working files are gone
    assert [p.name for p in output.parent.iterdir()] == ['retinanet.onnx']


def test_a_failed_check_writes_nothing(detector, tmp_path, capsys):
    output = tmp_path / 'retinanet.onnx'
    # no box can be within a negative distance: the check must fail
    code, _, err = run(capsys, *detector, output, '--box-tolerance', -1)
    assert code == 1
    # the exporter's own warnings may come before it
    last = err.strip().splitlines()[-1]
    assert last.startswith(f'error: {output}: onnxruntime returns 0 of '
                           "PyTorch's 10 best detections"), err
    assert list(tmp_path.iterdir()) == []


def test_bad_input_is_one_line(detector, tmp_path, capsys):
    config, checkpoint, image = detector
    output = tmp_path / 'x.onnx'
    code, _, err = run(capsys, config, checkpoint, tmp_path / 'no.png',
                       output)
    assert code == 1 and err.count('\n') == 1
    assert f'image {tmp_path}/no.png: no such file' in err
    output.write_bytes(b'keep')
    code, _, err = run(capsys, config, checkpoint, image, output)
    assert code == 1 and 'already exists' in err
    assert output.read_bytes() == b'keep'


def test_help_shows_examples(capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_tool('deploy').main(['--help'])
    assert exit_info.value.code == 0
    assert 'examples:' in capsys.readouterr().out
