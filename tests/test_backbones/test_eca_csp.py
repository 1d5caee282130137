"""ECA in the real-time detectors: RTMDet's CSPNeXt (in place of its C x C
channel attention) and YOLOX's CSPDarknet (where it has none)."""
import os.path as osp

import pytest
import torch
from mmdet.models.backbones import CSPDarknet, CSPNeXt
from mmdet.models.layers import CSPLayer
from mmdet.models.layers.se_layer import ChannelAttention

from detector_steps import build_detector, detector_config, training_step
from mmdet_eca.backbones import ECACSPDarknet, ECACSPNeXt
from mmdet_eca.layers import ECA

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = dict(deepen_factor=0.167, widen_factor=0.125)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def csp_layers(model):
    return [m for m in model.modules() if isinstance(m, CSPLayer)]


@pytest.mark.parametrize('cls', [ECACSPNeXt, ECACSPDarknet])
def test_every_csp_layer_attends_its_concatenation_with_eca(cls):
    model = cls(**TINY)
    layers = csp_layers(model)
    assert len(layers) == 4
    for layer in layers:
        assert layer.channel_attention
        assert isinstance(layer.attention, ECA)
        assert layer.attention.in_channels == layer.final_conv.conv.in_channels
    assert not any(isinstance(m, ChannelAttention) for m in model.modules())


@pytest.mark.parametrize('cls,stock', [(ECACSPNeXt, CSPNeXt),
                                       (ECACSPDarknet, CSPDarknet)])
def test_outputs_are_the_stock_layers_with_eca(cls, stock):
    # The stock backbone's weights load under the same names; with every
    # attention equal to one (CSPNeXt: none) the outputs are the stock ones.
    torch.manual_seed(0)
    plain = stock(**TINY, **({'channel_attention': False}
                            if stock is CSPNeXt else {}))
    plain.eval()  # mmdet's train() returns None: no chaining
    model = cls(**TINY).eval()
    missing, unexpected = model.load_state_dict(plain.state_dict(),
                                                strict=False)
    assert unexpected == []
    assert sorted(missing) == sorted(
        n for n, _ in model.named_parameters() if n.endswith(
            'attention.conv.weight'))
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = plain(x)
        assert [o.shape for o in model(x)] == [o.shape for o in expected]
        for layer in csp_layers(model):
            layer.attention.conv.weight.fill_(0.0)  # sigmoid(0) = 1/2
            layer.final_conv.conv.weight.mul_(2)
        for out, exp in zip(model(x), expected):
            torch.testing.assert_close(out, exp, rtol=1e-4, atol=1e-4)


def test_stock_rtmdet_attention_is_replaced_not_kept():
    stock = CSPNeXt(**TINY)  # channel_attention=True by default
    model = ECACSPNeXt(**TINY)
    swapped = sum(c * c + c for c in (
        l.final_conv.conv.in_channels for l in csp_layers(stock)))
    ks = sum(l.attention.kernel_size for l in csp_layers(model))
    assert n_params(stock) - n_params(model) == swapped - ks
    # stock weights: all but the attention load
    _, unexpected = model.load_state_dict(stock.state_dict(), strict=False)
    assert unexpected and all('.attention.fc.' in k for k in unexpected)


def test_kernel_size_and_no_attention():
    assert {l.attention.kernel_size
            for l in csp_layers(ECACSPNeXt(**TINY, eca_kernel_size=7))} == {7}
    plain = ECACSPNeXt(**TINY, channel_attention=False)
    assert not any(l.channel_attention for l in csp_layers(plain))
    assert not any(isinstance(m, ECA) for m in plain.modules())
    assert ECACSPNeXt(**TINY).train() is not None  # mmdet's returns None


# RTMDet-tiny's CSP layers attend to 48, 96, 192, 384 channels (k 3, 3, 5,
# 5); YOLOX-s's to 64, 128, 256, 512 (k 3, 5, 5, 5).
@pytest.mark.parametrize('config,stock_config,removed,added', [
    (osp.join(REPO, 'configs/rtmdet/rtmdet_tiny-eca_8xb32-300e_coco.py'),
     'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py', 196560, 16),
    (osp.join(REPO, 'configs/yolox/yolox_s-eca_8xb8-300e_coco.py'),
     'mmdet::yolox/yolox_s_8xb8-300e_coco.py', 0, 18),
])
def test_detector_parameters_against_stock_and_a_training_step(
        config, stock_config, removed, added, tmp_path):
    stock_file = tmp_path / 'stock.py'
    stock_file.write_text(f'_base_ = {stock_config!r}\n')
    stock = build_detector(detector_config(str(stock_file)))
    model = build_detector(detector_config(config))
    assert n_params(model) - n_params(stock) == added - removed
    assert type(model.backbone).__name__ in ('ECACSPNeXt', 'ECACSPDarknet')
    # the rest is the stock detector: same parameter names but attention
    names = {n for n, _ in model.named_parameters()
             if '.attention.' not in n}
    assert names == {n for n, _ in stock.named_parameters()
                     if '.attention.' not in n}
    training_step(model)
    for layer in csp_layers(model.backbone):
        grad = layer.attention.conv.weight.grad
        assert grad is not None and grad.abs().sum() > 0
