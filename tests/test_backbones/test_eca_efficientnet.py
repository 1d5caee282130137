"""ECAEfficientNet: MMDetection's EfficientNet with ECA in place of SE."""
import re

import pytest
import torch
import torch.nn.functional as F
from mmdet.models.backbones import EfficientNet
from mmdet.models.layers import SELayer
from mmdet.registry import MODELS
from torch import nn

from mmdet_eca.backbones import ECAEfficientNet
from mmdet_eca.backbones.eca_efficientnet import (ECAEdgeResidual,
                                                  ECAMBConv)
from mmdet_eca.layers import ECAModule, eca_kernel_size

ALL_OUT = (0, 1, 2, 3, 4, 5, 6)
X = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))


def without_attention(named):
    """``named`` without the entries of SE and ECA layers."""
    return {
        k: v
        for k, v in named.items() if not re.search(r'\.(se|eca)(\.|$)', k)
    }


def shapes(model):
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


@pytest.mark.parametrize('arch', list(EfficientNet.arch_settings))
def test_every_arch_is_mmdet_s_network_with_eca_for_se(arch):
    se = EfficientNet(arch=arch, out_indices=ALL_OUT)
    eca = ECAEfficientNet(arch=arch, out_indices=ALL_OUT)
    assert without_attention(shapes(eca)) == without_attention(shapes(se))
    blocks = [m for layer in eca.layers[1:-1] for m in layer]
    assert len(blocks) == len(eca.eca_kernel_sizes)
    for block in blocks:
        assert not hasattr(block, 'se') and isinstance(block.eca, ECAModule)
    # ECA runs on each block's mid channels, SE's input
    mids = [b.depthwise_conv.conv.out_channels if hasattr(
        b, 'depthwise_conv') else b.conv1.conv.out_channels for b in blocks]
    assert eca.eca_kernel_sizes == tuple(eca_kernel_size(c) for c in mids)
    for old, new in zip((m for layer in se.layers[1:-1] for m in layer),
                        blocks):
        if hasattr(old, 'se'):
            assert old.se.conv1.conv.in_channels == (
                new.depthwise_conv.conv.out_channels)
        assert type(old) in type(new).__bases__


def test_registered_and_built_from_a_config():
    model = MODELS.build(dict(type='ECAEfficientNet', arch='b0'))
    assert isinstance(model, ECAEfficientNet)


@pytest.mark.parametrize('arch,out_indices', [('b0', (2, 3, 4, 5, 6)),
                                              ('b3', (3, 4, 5)),
                                              ('em', (1, 2, 3, 4, 5, 6))])
def test_forward_gives_mmdet_s_stage_shapes(arch, out_indices):
    se = EfficientNet(arch=arch, out_indices=out_indices)
    se.eval()  # mmdet's EfficientNet.train() returns None
    eca = ECAEfficientNet(arch=arch, out_indices=out_indices).eval()
    with torch.no_grad():
        outs = eca(X)
        expected = se(X)
    assert len(outs) == len(out_indices)
    assert [o.shape for o in outs] == [e.shape for e in expected]
    assert len(eca.layers) == len(se.layers)


@pytest.mark.parametrize('arch', ['b0', 'em'])
def test_same_computation_up_to_the_attention(arch, monkeypatch):
    """With SE and ECA both made the identity, the two backbones compute
    the same function on the same weights (residuals, edge blocks and the
    edge-TPU rule for expansion 3 included)."""
    se = EfficientNet(arch=arch, out_indices=(3, 4, 5, 6))
    eca = ECAEfficientNet(arch=arch, out_indices=(3, 4, 5, 6))
    eca.load_state_dict(without_attention(se.state_dict()), strict=False)
    se.eval(), eca.eval()
    identity = lambda self, x: x  # noqa: E731
    monkeypatch.setattr(ECAModule, 'forward', identity)
    # the form folded into the projection conv scales by the attention
    monkeypatch.setattr(ECAModule, 'attention',
                        lambda self, x: x.new_ones(x.shape[:2] + (1, 1)))
    monkeypatch.setattr(SELayer, 'forward', identity)
    with torch.no_grad():
        for out, expected in zip(eca(X), se(X)):
            torch.testing.assert_close(out, expected)


def test_drop_path_rates_are_mmdet_s():
    se = EfficientNet(arch='b0', drop_path_rate=0.2, out_indices=(6, ))
    eca = ECAEfficientNet(arch='b0', drop_path_rate=0.2, out_indices=(6, ))

    def rates(model):
        return [getattr(b.drop_path, 'drop_prob', 0.) for layer in
                model.layers[1:-1] for b in layer]

    assert rates(eca) == rates(se)
    assert rates(eca)[-1] == pytest.approx(0.2)


def _paper_eca(x, weight):
    """ECA as the paper writes it: global average pooling, a 1-D conv of
    kernel k across channels (zero padding, no bias), sigmoid, scaling."""
    k = weight.shape[-1]
    y = F.adaptive_avg_pool2d(x, 1).squeeze(-1).transpose(-1, -2)  # N,1,C
    y = F.conv1d(y, weight, padding=(k - 1) // 2)
    return x * torch.sigmoid(y).transpose(-1, -2).unsqueeze(-1)


def test_inverted_residual_applies_the_paper_s_eca_before_projection():
    model = ECAEfficientNet(arch='b0', out_indices=(4, )).eval()
    block = model.layers[4][1]  # 80 -> 80 with a residual
    assert isinstance(block, ECAMBConv)
    assert block.with_res_shortcut and block.eca.kernel_size == 5
    nn.init.normal_(block.eca.conv.weight)
    x = torch.randn(2, 80, 8, 8)
    with torch.no_grad():
        mid = block.depthwise_conv(block.expand_conv(x))
        expected = x + block.linear_conv(
            _paper_eca(mid, block.eca.conv.weight))
        torch.testing.assert_close(block(x), expected)


def test_edge_residual_applies_the_paper_s_eca_before_projection():
    model = ECAEfficientNet(arch='es', out_indices=(3, )).eval()
    block = model.layers[3][1]
    assert isinstance(block, ECAEdgeResidual) and block.with_residual
    nn.init.normal_(block.eca.conv.weight)
    x = torch.randn(2, 48, 8, 8)
    with torch.no_grad():
        expected = x + block.conv2(
            _paper_eca(block.conv1(x), block.eca.conv.weight))
        torch.testing.assert_close(block(x), expected)


def _params(module):
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts_reconcile_with_the_study():
    """EfficientNet-B0 with a 1280 -> 1000 classifier: 5,288,548 with SE,
    4,652,084 with ECA; SE layers 636,540, ECA layers 76."""
    head = _params(nn.Linear(1280, 1000))
    se = EfficientNet(arch='b0', out_indices=(6, ))
    eca = ECAEfficientNet(arch='b0', out_indices=(6, ))
    se_layers = sum(_params(m.se) for m in se.modules() if hasattr(m, 'se'))
    eca_layers = sum(_params(m) for m in eca.modules()
                     if isinstance(m, ECAModule))
    assert _params(se) + head == 5_288_548
    assert _params(eca) + head == 4_652_084
    assert se_layers == 636_540
    assert eca_layers == 76
    assert _params(se) - se_layers == _params(eca) - eca_layers


def test_kernel_sizes_override_globally_and_per_block():
    model = ECAEfficientNet(arch='b0', eca_kernel_sizes=7)
    assert {m.kernel_size for m in model.modules()
            if isinstance(m, ECAModule)} == {7}
    per_block = (1, 3) + (5, ) * 13 + (9, )
    model = ECAEfficientNet(arch='b0', eca_kernel_sizes=per_block)
    sizes = [m.kernel_size for m in model.modules()
             if isinstance(m, ECAModule)]
    assert tuple(sizes) == per_block == model.eca_kernel_sizes
    assert ECAEfficientNet(
        arch='b0', eca_kernel_sizes='1' * 16).eca_kernel_sizes == (1, ) * 16
    # gamma and b of the adaptive rule
    assert set(ECAEfficientNet(arch='b0', eca_gamma=1).eca_kernel_sizes) \
        == {7, 9, 11}


@pytest.mark.parametrize('value,match', [
    (4, 'positive odd int'),
    ((3, ) * 15, 'has 15 entries: expected 16 odd kernel sizes'),
    ('33', 'expected 16 odd kernel sizes'),
    ('fast', 'expected 16 odd kernel sizes'),
])
def test_bad_kernel_sizes_are_refused(value, match):
    with pytest.raises(ValueError, match=match):
        ECAEfficientNet(arch='b0', eca_kernel_sizes=value)


def test_bad_arch_is_refused():
    with pytest.raises(ValueError, match="arch='b9' is not an EfficientNet"):
        ECAEfficientNet(arch='b9')


@pytest.mark.parametrize('frozen_stages,norm_eval',
                         [(0, False), (3, True), (7, False)])
def test_frozen_stages_and_norm_eval_behave_as_mmdet_s(frozen_stages,
                                                       norm_eval):
    kwargs = dict(arch='b0', out_indices=(6, ), frozen_stages=frozen_stages,
                  norm_eval=norm_eval)
    se, eca = EfficientNet(**kwargs), ECAEfficientNet(**kwargs)
    se.train()
    assert eca.train() is eca
    se_grad = {n: p.requires_grad for n, p in se.named_parameters()}
    eca_grad = {n: p.requires_grad for n, p in eca.named_parameters()}
    assert without_attention(eca_grad) == without_attention(se_grad)
    se_modes = {n: m.training for n, m in se.named_modules()}
    eca_modes = {n: m.training for n, m in eca.named_modules()}
    assert without_attention(eca_modes) == without_attention(se_modes)
    for name, grad in eca_grad.items():
        if '.eca.' in name:
            assert grad == (int(name.split('.')[1]) >= frozen_stages), name
    if frozen_stages == 3:
        assert not eca.layers[2].training and eca.layers[3].training
        assert not eca.layers[3][0].depthwise_conv.bn.training  # norm_eval


def test_frozen_stages_out_of_range_is_refused_as_by_mmdet():
    with pytest.raises(ValueError, match='frozen_stages must be in range'):
        ECAEfficientNet(arch='b0', frozen_stages=8)


def test_with_cp_gives_the_same_output_and_gradients():
    torch.manual_seed(0)
    plain = ECAEfficientNet(arch='b0', out_indices=(3, ))
    cp = ECAEfficientNet(arch='b0', out_indices=(3, ), with_cp=True)
    cp.load_state_dict(plain.state_dict())
    x = X.clone().requires_grad_()
    x_cp = X.clone().requires_grad_()
    out, out_cp = plain(x)[0], cp(x_cp)[0]
    torch.testing.assert_close(out_cp, out)
    out.sum().backward()
    out_cp.sum().backward()
    torch.testing.assert_close(x_cp.grad, x.grad)
    torch.testing.assert_close(cp.layers[2][1].eca.conv.weight.grad,
                               plain.layers[2][1].eca.conv.weight.grad)
