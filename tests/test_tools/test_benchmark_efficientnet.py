"""EfficientNet rows of tools/benchmark.py and tools/get_flops.py: ECA
against MMDetection's EfficientNet (SE) and against no attention."""
import os
import re

import pytest
import torch
from mmdet.models.backbones import EfficientNet

from analysis_tools import (PlainEfficientNet, build_backbone,
                            build_efficientnet_comparison,
                            parse_backbone_name)
from analysis_tools.flops import count_complexity
from mmdet_eca.backbones import ECAEfficientNet
from mmdet_eca.layers import ECAModule
from tool_modules import load_tool

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def params(model):
    return sum(p.numel() for p in model.parameters())


def test_names_take_an_arch():
    assert parse_backbone_name('ECAEfficientNet-B0') == (ECAEfficientNet,
                                                         'b0')
    assert parse_backbone_name('efficientnet-es') == (EfficientNet, 'es')
    assert parse_backbone_name('PlainEfficientNetb3') == (PlainEfficientNet,
                                                          'b3')
    for bad in ('EfficientNet-50', 'ResNet-b0', 'EfficientNet-B9'):
        with pytest.raises(ValueError, match='unknown backbone'):
            parse_backbone_name(bad)
    assert build_backbone('ECAEfficientNet-B0').arch_setting == (1.0, 1.0,
                                                                 224)


def test_plain_efficientnet_is_mmdet_s_without_se():
    plain = PlainEfficientNet(arch='b0', out_indices=(6, ))
    se = EfficientNet(arch='b0', out_indices=(6, ))
    assert not any(hasattr(m, 'se') for m in plain.modules())
    assert params(se) - params(plain) == 636_540  # the SE layers
    assert {k: v.shape for k, v in plain.state_dict().items()} == {
        k: v.shape for k, v in se.state_dict().items() if '.se.' not in k}


def test_comparison_models_share_weights_and_shapes():
    models = build_efficientnet_comparison('b0', control=True)
    assert list(models) == ['PlainEfficientNet-B0', 'EfficientNet-B0',
                            'ECAEfficientNet-B0', 'PlainEfficientNet-B0 '
                            '(copy)']
    plain, se, eca, _ = models.values()
    for name, p in plain.state_dict().items():
        torch.testing.assert_close(se.state_dict()[name], p)
        torch.testing.assert_close(eca.state_dict()[name], p)
    assert params(eca) - params(plain) == 76
    x = torch.randn(1, 3, 64, 64)
    for m in models.values():
        m.eval()
    with torch.no_grad():
        shapes = [[o.shape for o in m(x)] for m in models.values()]
    assert shapes[0] == shapes[1] == shapes[2] and len(shapes[0]) == 4


def test_benchmark_compares_the_three_efficientnets(capsys):
    load_tool('benchmark').main([
        '--efficientnet', 'b0', '--batch', '1', '--resolution', '32',
        '--repeats', '1', '--warmup', '0', '--threads', '1', '--no-memory'
    ])
    out = capsys.readouterr().out
    assert '| median / PlainEfficientNet |' in out
    rows = {line.split('|')[1].strip(): line.split('|')[2:-1]
            for line in out.splitlines() if line.startswith('| ')
            and not line.startswith('| backbone')}
    assert set(rows) == {'PlainEfficientNet-B0', 'EfficientNet-B0',
                         'ECAEfficientNet-B0'}
    assert [c.strip() for c in rows['PlainEfficientNet-B0'][2:5]] == [
        '1.000'] * 3


def row_numbers(out, label):
    for line in out.splitlines():
        if line.startswith(f'| {label}'):
            return [int(n.replace(',', ''))
                    for n in re.findall(r'\| ([\d,]+) =', line)]
    raise AssertionError(f'no row {label!r} in\n{out}')


def test_get_flops_puts_eca_beside_se(capsys):
    load_tool('get_flops').main(
        ['ECAEfficientNet-B0', 'EfficientNet-B0', '--resolution', '64'])
    out = capsys.readouterr().out
    eca = row_numbers(out, 'ECAEfficientNet-B0 + ImageNet head')
    se = row_numbers(out, 'EfficientNet-B0 + ImageNet head')
    assert eca[0] == 4_652_084 and se[0] == 5_288_548  # the study's counts
    assert row_numbers(out, 'ECAEfficientNet-B0 backbone')[0] == 3_371_084
    assert eca[1] < se[1]  # fewer multiply-adds


def test_eca_is_charged_its_pooling_on_the_mid_channels():
    """Against no attention, ECA costs its Conv1d (C * k multiply-adds)
    and the reference code's average pooling of the features it attends
    to (C * (H * W + 1) operations), per block."""
    x = torch.zeros(1, 3, 64, 64)
    plain = PlainEfficientNet(arch='b0', out_indices=(6, ))
    eca = ECAEfficientNet(arch='b0', out_indices=(6, ))
    seen = []
    handles = [
        m.register_forward_hook(
            lambda m, i, o: seen.append((i[0].shape, m.kernel_size)))
        for m in eca.modules() if isinstance(m, ECAModule)
    ]
    eca.eval()
    with torch.no_grad():
        eca(x)
    for handle in handles:
        handle.remove()
    assert len(seen) == 16
    conv = sum(shape[1] * k for shape, k in seen)
    pooling = sum(shape[1] * (shape[2] * shape[3] + 1) for shape, _ in seen)
    with_eca, without = count_complexity(eca, x), count_complexity(plain, x)
    assert with_eca.macs - without.macs == conv
    assert with_eca.thop_ops - without.thop_ops == conv + pooling
