"""tools/export_onnx.py: an ECA detector's backbone to a checked ONNX file.

The detector config names a small ECA-ResNet-50 (base_channels 8); its
checkpoint holds random weights and BatchNorm statistics under
``backbone.``, as a trained detector's does.
"""
import importlib.util
import os

import pytest
import torch

from mmdet_eca.backbones import ECAResNet
from tool_modules import load_tool

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec('onnxruntime') is None
    or importlib.util.find_spec('onnx') is None,
    reason='needs onnx and onnxruntime (pip install onnx onnxruntime)')

CONFIG = """
custom_imports = dict(imports=['mmdet_eca'], allow_failed_imports=False)
model = dict(
    type='RetinaNet',
    backbone=dict(type='ECAResNet', depth=50, base_channels=8,
                  norm_eval=True))
"""


def export_tool():
    return load_tool('export_onnx')


def backbone(seed=0, **kwargs):
    torch.manual_seed(seed)
    model = ECAResNet(depth=50, base_channels=8, **kwargs)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if 'running_var' in name:
                t.copy_(torch.rand(t.shape, generator=gen) + 0.5)
            elif 'running_mean' in name:
                t.copy_(torch.rand(t.shape, generator=gen) - 0.5)
    model.eval()  # mmdet's ResNet.train() returns None: no chaining
    return model


@pytest.fixture(scope='module')
def detector(tmp_path_factory):
    """(config path, checkpoint path, the backbone the checkpoint holds)."""
    root = tmp_path_factory.mktemp('export')
    config = root / 'retinanet_tiny_eca.py'
    config.write_text(CONFIG)
    model = backbone()
    checkpoint = root / 'detector.pth'
    torch.save({'meta': {}, 'state_dict': {
        f'backbone.{k}': v for k, v in model.state_dict().items()}},
        checkpoint)
    return str(config), str(checkpoint), model


def run(capsys, *args):
    code = export_tool().main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def onnxruntime_outputs(path, x):
    import onnxruntime as ort
    session = ort.InferenceSession(
        str(path), providers=['CPUExecutionProvider'])
    return session.run(None, {'input': x.numpy()})


def test_writes_a_checked_file_with_the_checkpoints_weights(
        detector, tmp_path, capsys):
    config, checkpoint, model = detector
    out = tmp_path / 'backbone.onnx'
    code, stdout, err = run(capsys, config, checkpoint, out, '--shape', 64,
                            96, '--check-shape', 2, 80, 64)
    assert code == 0, err
    assert 'onnxruntime vs PyTorch on 2x3x80x64' in stdout
    assert os.listdir(tmp_path) == ['backbone.onnx']  # no temporary left
    # The file computes the checkpoint's backbone, at yet another size.
    x = torch.randn(1, 3, 40, 72)
    with torch.no_grad():
        expected = model(x)
    actual = onnxruntime_outputs(out, x)
    assert len(actual) == len(expected) == 4
    for a, e in zip(actual, expected):
        torch.testing.assert_close(torch.from_numpy(a), e, rtol=1e-4,
                                   atol=1e-4)


def test_dynamo_exporter(detector, tmp_path, capsys):
    pytest.importorskip('onnxscript')
    config, checkpoint, _ = detector
    out = tmp_path / 'backbone.onnx'
    code, stdout, err = run(capsys, config, checkpoint, out, '--dynamo',
                            '--shape', 64, 64, '--check-shape', 1, 96, 64)
    assert code == 0, err
    assert 'dynamo exporter' in stdout and out.exists()


def test_a_failed_check_writes_nothing(detector, tmp_path, capsys,
                                       monkeypatch):
    import mmdet_eca.export as export
    real = export.run_onnx

    def off_by_one_percent(path, x):
        return [o * 1.01 for o in real(path, x)]

    monkeypatch.setattr(export, 'run_onnx', off_by_one_percent)
    config, checkpoint, _ = detector
    out = tmp_path / 'backbone.onnx'
    code, _, err = run(capsys, config, checkpoint, out, '--shape', 32, 32,
                       '--check-shape', 1, 32, 32)
    assert code == 1
    assert 'onnxruntime differs from PyTorch' in err and 'not written' in err
    assert len(err.strip().splitlines()) == 1
    assert os.listdir(tmp_path) == []


def test_bad_input_is_one_line_naming_it(detector, tmp_path, capsys):
    config, checkpoint, _ = detector
    out = tmp_path / 'backbone.onnx'
    wrong = tmp_path / 'resnet18.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in ECAResNet(
        depth=18, base_channels=8).state_dict().items()}}, wrong)
    no_backbone = tmp_path / 'no_backbone.py'
    no_backbone.write_text("model = dict(type='RetinaNet')\n")
    cases = [
        ((tmp_path / 'missing.py', checkpoint, out), 'missing.py'),
        ((no_backbone, checkpoint, out), 'model.backbone'),
        ((config, tmp_path / 'missing.pth', out), 'missing.pth'),
        ((config, config, out), 'retinanet_tiny_eca.py'),  # not a checkpoint
        ((config, wrong, out), 'resnet18.pth'),
    ]
    for args, named in cases:
        code, _, err = run(capsys, *args)
        assert code == 1, args
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith('error: '), err
        assert named in lines[0], lines[0]
    assert not out.exists()
    out.write_text('keep me')
    code, _, err = run(capsys, config, checkpoint, out)
    assert code == 1 and 'already exists' in err
    assert out.read_text() == 'keep me'


def test_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        export_tool().main(['--help'])
    assert exit_info.value.code == 0
    assert '--dynamo' in capsys.readouterr().out


def test_a_size_frozen_into_the_graph_is_caught(tmp_path):
    # MMDetection's EfficientNet computes its 'same' padding from the input
    # size in Python, which the TorchScript exporter stores as constants;
    # this module does the same with a crop.
    from mmdet_eca.export import export_backbone_onnx

    class FrozenSize(torch.nn.Module):

        def forward(self, x):
            return (x[:, :, :int(x.shape[2]) // 2] * 2, )

    out = tmp_path / 'frozen.onnx'
    with pytest.raises(ValueError, match='holds a size of the export input'):
        export_backbone_onnx(FrozenSize(), None, str(out),
                             export_shape=(1, 3, 8, 8),
                             check_shape=(1, 3, 12, 16))
    assert os.listdir(tmp_path) == []
    # checked at the exported size it passes
    export_backbone_onnx(FrozenSize(), None, str(out),
                         export_shape=(1, 3, 8, 8), check_shape=(2, 3, 8, 8))
    assert out.exists()
