"""What ECA anywhere costs, as the tools measure it: tools/benchmark.py
--eca-plugin (the plugin form of ECAResNet beside it), tools/get_flops.py
--detector (whole detectors against MMDetection's own), and the operation
counts of ECAs outside ResNet blocks."""
import os
import re

import pytest
import torch
from mmdet.models.backbones import ResNet
from mmdet.models.layers import CSPLayer
from mmengine.registry import init_default_scope

from analysis_tools.backbones import build_comparison
from analysis_tools.flops import count_complexity
from mmdet_eca.backbones import ECACSPNeXt
from mmdet_eca.layers import eca_plugins
from tool_modules import load_tool

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
benchmark = load_tool('benchmark')
get_flops = load_tool('get_flops')


def test_the_plugin_form_is_ecaresnet_with_its_weights():
    models = build_comparison(50, eca_plugin=True, base_channels=8)
    plugin = models['ResNet-50 + ECA plugin']
    eca = models['ECAResNet-50']
    assert type(plugin) is ResNet
    for key, value in eca.state_dict().items():
        assert torch.equal(plugin.state_dict()[key], value), key
    x = torch.randn(1, 3, 64, 64)
    for model in (plugin, eca):
        model.eval()
    with torch.no_grad():
        for a, b in zip(plugin(x), eca(x)):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_benchmark_times_the_plugin_form_beside_the_others(capsys):
    benchmark.main([
        '--batch', '1', '--resolution', '64', '--repeats', '1', '--warmup',
        '0', '--threads', '1', '--mode', 'train', '--eca-plugin',
        '--no-memory'
    ])
    rows = [line.split('|')[1].strip()
            for line in capsys.readouterr().out.splitlines()
            if line.startswith('| ') and not line.startswith('| backbone')]
    assert rows == ['ResNet-50', 'ECAResNet-50', 'SEResNet-50',
                    'ResNet-50 + ECA plugin']


def test_benchmark_refuses_the_plugin_for_basic_blocks(capsys):
    with pytest.raises(SystemExit):
        benchmark.parse_args(['--depth', '18', '--eca-plugin'])
    assert 'takes no plugins' in capsys.readouterr().err


def test_get_flops_counts_detectors_against_mmdetection_s(capsys):
    get_flops.main([
        '--detector', '--resolution', '64',
        'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
        os.path.join(ROOT, 'configs/rtmdet/rtmdet_tiny-eca_8xb32-300e_coco.py')
    ])
    out = capsys.readouterr().out
    stock, eca = [line for line in out.splitlines()
                  if line.startswith('| ') and 'rtmdet' in line]
    assert stock.split('|')[2].strip() == '4,896,168'
    # 196,560 weights of channel attention out, 16 of ECA in
    assert '| 4,699,624 (-196,544) | 2,152,156 (-196,544) |' in eca
    # the attention's 1x1 convs: 48^2 + 96^2 + 192^2 + 384^2 multiply-adds
    # at 1x1 against k per channel (3 * 48 + 3 * 96 + 5 * 192 + 5 * 384)
    macs = int(re.findall(r'\| ([\d,]+) \(', eca)[-1].replace(',', ''))
    assert macs == int(stock.split('|')[5].replace(',', '')) - (
        48**2 + 96**2 + 192**2 + 384**2) + (3 * 48 + 3 * 96 + 5 * 192 +
                                            5 * 384)


def test_ecas_outside_resnet_blocks_are_charged_their_pooling():
    # thop-style operations: each ECA pools its own input (window + 1 per
    # channel), as the reference's AdaptiveAvgPool2d would
    kwargs = dict(deepen_factor=0.167, widen_factor=0.125)
    model = ECACSPNeXt(channel_attention=True, **kwargs)
    plain = ECACSPNeXt(channel_attention=False, **kwargs)
    plain.load_state_dict(model.state_dict(), strict=False)
    x = torch.zeros(1, 3, 64, 64)
    with_eca, without = count_complexity(model, x), count_complexity(plain, x)
    layers = [(l.attention.in_channels, l.attention.kernel_size)
              for l in model.modules() if isinstance(l, CSPLayer)]
    sides = [16, 8, 4, 2]  # the four stages' outputs at 64 px
    pooling = sum(c * (s * s + 1) for (c, _), s in zip(layers, sides))
    conv1d = sum(c * k for c, k in layers)
    assert with_eca.macs - without.macs == conv1d
    assert with_eca.thop_ops - without.thop_ops == pooling + conv1d


def test_plugin_ecas_in_resnet_blocks_are_counted_once():
    init_default_scope('mmdet')  # where the plugin's name resolves
    model = ResNet(depth=50, base_channels=8, plugins=eca_plugins(
        (3, 5, 5, 7)))
    plain = ResNet(depth=50, base_channels=8)
    x = torch.zeros(1, 3, 64, 64)
    extra = count_complexity(model, x).thop_ops - count_complexity(
        plain, x).thop_ops
    # per block: pooling (H * W + 1 per channel) and k per channel
    expected = 0
    for i, (k, side) in enumerate(zip((3, 5, 5, 7), (16, 8, 4, 2))):
        channels = 8 * 2**i * 4
        blocks = ResNet.arch_settings[50][1][i]
        expected += blocks * channels * (side * side + 1 + k)
    assert extra == expected
