"""tools/convert_eca_weights.py recognises an mmpretrain classifier trained
from configs/mmpretrain/ and keeps its backbone."""
import subprocess
import sys

import pytest
import torch

from conftest import REPO
from mmdet_eca.backbones import ECAResNet
from mmdet_eca.checkpoint import convert, format_report, inspect_checkpoint

# mmpretrain needs the torchvision of the registry's torch: CI runs these in
# the oldest-torch environment (make test-oldest-torch)
pytest.importorskip('mmpretrain', reason='pip install mmdet-eca[pretrain]')


def test_an_eca_resnet_classifier_is_recognised_and_converted(
        pretrained, tmp_path):
    src = pretrained('eca-resnet50_8xb32_in1k.py')
    result = inspect_checkpoint(src)
    assert result.source_format == 'mmpretrain'
    assert (result.spec.type, result.spec.depth,
            result.spec.kernel_sizes_str) == ('ECAResNet', 50, '3557')
    assert sorted(result.dropped) == ['head.fc.bias', 'head.fc.weight']
    assert "prefix='backbone.'" in format_report(result, src)
    dst = str(tmp_path / 'eca50.pth')
    result = convert(src, dst)
    assert result.written == dst
    report = format_report(result, src)
    assert f"checkpoint='{dst}'" in report and 'prefix' not in report
    saved = torch.load(dst, map_location='cpu')
    assert saved['meta']['source_format'] == 'mmpretrain'
    backbone = ECAResNet(depth=50)
    backbone.load_state_dict(saved['state_dict'], strict=True)
    weights = torch.load(src, map_location='cpu')['state_dict']
    for key, tensor in backbone.state_dict().items():
        assert torch.equal(tensor, weights['backbone.' + key]), key


def test_a_plugin_classifier_is_named_with_the_config_that_loads_it(
        pretrained, tmp_path):
    src = pretrained('resnext50-32x4d-eca_8xb32_in1k.py')
    dst = tmp_path / 'x50.pth'
    proc = subprocess.run(
        [sys.executable, 'tools/convert_eca_weights.py', src, str(dst)],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f'error: {src}: ')
    assert ('an mmpretrain classifier with another backbone (ResNeXt or '
            'RegNet with the ECA plugin, ECACSPNeXt) needs no conversion'
            in lines[0])
    assert "prefix='backbone.'" in lines[0]
    assert not dst.exists()
