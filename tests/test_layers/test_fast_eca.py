"""The fast ECA forms of every family against the paper's formulation.

EfficientNet and the CSP layers fold the attention into the following 1x1
convolution (``layers.eca_conv``), MobileNetV2 ends its blocks with the
fused tail of ``layers.eca_residual``, the neck and the plugin scale in
place at inference. Each is run against the same model under
``fused_eca(False)``, which computes ``x * sigmoid(conv1d(mean(x)))`` as
written, in float64: outputs, the input's gradient and every parameter's.
"""
import copy
import pickle

import pytest
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.models.backbones import ResNet

from mmdet_eca.backbones import (ECACSPDarknet, ECACSPNeXt, ECAEfficientNet,
                                 ECAMobileNetV2, fuse_eca_plugins)
from mmdet_eca.backbones.eca_csp import ECACSPLayer
from mmdet_eca.layers import ECA, eca_plugins
from mmdet_eca.layers.eca import ECAModule
from mmdet_eca.layers.eca_conv import eca_conv1x1, pointwise_parts
from mmdet_eca.layers.execution_mode import fused_eca
from mmdet_eca.necks import ECAFPN


def randomise(model: nn.Module, seed: int = 0) -> nn.Module:
    """Nonzero ECA weights (so that every channel gets its own scale) and
    norms that are not the identity."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, ECAModule):
                m.conv.weight.copy_(torch.randn(m.conv.weight.shape,
                                                generator=gen))
            elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(n, generator=gen) * 0.1)
                m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
    return model


def outputs_and_grads(model, x):
    x = x.detach().requires_grad_(model.training)
    outs = model(x)
    outs = outs if isinstance(outs, (tuple, list)) else (outs, )
    if not model.training:
        return [o.detach() for o in outs], []
    params = [p for p in model.parameters() if p.requires_grad]
    loss = sum((o * torch.linspace(-1, 2, o.numel(), dtype=o.dtype).view(
        o.shape)).sum() for o in outs)
    grads = torch.autograd.grad(loss, [x] + params, allow_unused=True)
    return [o.detach() for o in outs], grads


def assert_matches_paper(model, x):
    """``model``'s fast forms against its own paper formulation."""
    paper = copy.deepcopy(model)
    fast_outs, fast_grads = outputs_and_grads(model, x)
    with fused_eca(False):
        ref_outs, ref_grads = outputs_and_grads(paper, x)
    for fast, ref in zip(fast_outs, ref_outs):
        torch.testing.assert_close(fast, ref, rtol=1e-10, atol=1e-12)
    assert len(fast_grads) == len(ref_grads)
    scale = max((g.abs().max() for g in ref_grads if g is not None),
                default=torch.tensor(1.))
    for fast, ref in zip(fast_grads, ref_grads):
        assert (fast is None) == (ref is None)
        if ref is not None:
            # zero-in-theory gradients (a bias before a batch-statistics
            # norm) are rounding noise in both: compare on the model's scale
            torch.testing.assert_close(
                fast, ref, rtol=1e-9, atol=1e-12 * float(scale))
    if model.training:
        for (name, a), (_, b) in zip(model.named_buffers(),
                                     paper.named_buffers()):
            torch.testing.assert_close(a, b, msg=name)


FAMILIES = {
    'efficientnet': lambda: ECAEfficientNet('b0', out_indices=(2, 3)),
    'mobilenetv2': lambda: ECAMobileNetV2(out_indices=(1, 2, 4)),
    'cspnext': lambda: ECACSPNeXt(deepen_factor=0.167, widen_factor=0.25),
    'cspdarknet': lambda: ECACSPDarknet(deepen_factor=0.33,
                                        widen_factor=0.25),
}


@pytest.mark.parametrize('family', sorted(FAMILIES))
@pytest.mark.parametrize('mode', ['eval', 'frozen_bn', 'train'])
@pytest.mark.parametrize('batch,size', [(1, 64), (3, 46)])
def test_family_matches_paper(family, mode, batch, size):
    torch.manual_seed(0)
    model = randomise(FAMILIES[family]()).double()
    model.train(mode != 'eval')
    if mode == 'frozen_bn':  # MMDetection's norm_eval=True
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()
    x = torch.randn(batch, 3, size, size, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(1))
    assert_matches_paper(model, x)


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_family_channels_last_and_identity_mode(family):
    torch.manual_seed(0)
    model = randomise(FAMILIES[family]()).double()
    for m in model.modules():
        if isinstance(m, ECAModule):
            m.identity_init = True  # the 2 * sigmoid gate, weights random
    model.to(memory_format=torch.channels_last).train()
    x = torch.randn(2, 3, 48, 48, dtype=torch.float64).contiguous(
        memory_format=torch.channels_last)
    assert_matches_paper(model, x)
    model.eval()
    assert_matches_paper(model, x[:1])


def test_csp_layers_take_the_folded_form():
    layers = [m for m in ECACSPNeXt(widen_factor=0.25).modules()
              if isinstance(m, ECACSPLayer)]
    assert layers and all(isinstance(m.attention, ECA) for m in layers)


class EcaThenConv(nn.Module):

    def __init__(self, eca, conv):
        super().__init__()
        self.eca, self.conv = eca, conv

    def forward(self, x):
        return eca_conv1x1(self.eca, x, self.conv)


@pytest.mark.parametrize('conv', [
    lambda: nn.Conv2d(6, 5, 1, bias=True),
    lambda: ConvModule(6, 5, 1, norm_cfg=dict(type='BN')),
    lambda: ConvModule(6, 5, 1, norm_cfg=dict(type='BN'),
                       act_cfg=dict(type='SiLU'), order=('conv', 'act',
                                                         'norm')),
])
@pytest.mark.parametrize('batch,size', [(1, 7), (4, 6)])
def test_eca_conv1x1_is_conv_of_eca(conv, batch, size):
    torch.manual_seed(0)
    model = EcaThenConv(randomise(ECAModule(kernel_size=3)), conv())
    randomise(model.conv)
    model = model.double().train()
    assert pointwise_parts(model.conv) is not None
    assert_matches_paper(model, torch.randn(batch, 6, size, size,
                                            dtype=torch.float64))


@pytest.mark.parametrize('conv', [
    lambda: nn.Conv2d(6, 5, 3, padding=1),
    lambda: nn.Conv2d(6, 6, 1, groups=2),
    lambda: nn.Conv2d(6, 5, 1, stride=2),
    lambda: ConvModule(6, 5, 1, norm_cfg=dict(type='BN'),
                       order=('norm', 'conv', 'act')),
    lambda: nn.Sequential(nn.Conv2d(6, 5, 1)),
])
def test_eca_conv1x1_leaves_other_convs_to_the_paper_form(conv):
    conv = conv()
    assert pointwise_parts(conv) is None
    eca = randomise(ECAModule(kernel_size=3))
    x = torch.randn(2, 6, 5, 5)
    torch.testing.assert_close(eca_conv1x1(eca, x, conv), conv(eca(x)))


def test_eca_conv1x1_respects_hooks():
    conv = nn.Conv2d(6, 5, 1)
    seen = []
    conv.register_forward_hook(lambda m, i, o: seen.append(o.shape))
    assert pointwise_parts(conv) is None
    eca_conv1x1(ECAModule(kernel_size=3), torch.randn(2, 6, 5, 5), conv)
    assert seen == [torch.Size([2, 5, 5, 5])]


@pytest.mark.parametrize('identity_mode', [False, True])
def test_neck_matches_paper_and_keeps_no_unscaled_levels(identity_mode):
    torch.manual_seed(0)
    neck = randomise(ECAFPN(in_channels=[8, 16], out_channels=8,
                            num_outs=3)).double()
    for m in neck.modules():
        if isinstance(m, ECAModule):
            m.identity_init = identity_mode
    gen = torch.Generator().manual_seed(1)
    feats = [torch.randn(2, 8, 16, 15, dtype=torch.float64, generator=gen),
             torch.randn(2, 16, 8, 8, dtype=torch.float64, generator=gen)]
    neck.eval()
    with torch.no_grad():
        with fused_eca(False):
            ref = neck(feats)
        outs = neck(feats)
    for out, r in zip(outs, ref):
        torch.testing.assert_close(out, r)

    neck.train()
    params = list(neck.parameters())

    def grads():
        xs = [f.clone().requires_grad_() for f in feats]
        outs = neck(xs)
        loss = sum((o * torch.randn(o.shape, dtype=o.dtype, generator=torch
                                    .Generator().manual_seed(i))).sum()
                   for i, o in enumerate(outs))
        return outs, torch.autograd.grad(loss, xs + params)

    outs, fast = grads()
    # the product, not the unscaled level, is what backward keeps
    assert all(type(o.grad_fn).__name__ == '_ScaleSavingOutputBackward'
               for o in outs)
    with fused_eca(False):
        _, ref = grads()
    for g, r in zip(fast, ref):
        torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-12)


def test_changing_a_neck_level_in_place_is_caught():
    neck = ECAFPN(in_channels=[8], out_channels=8, num_outs=1).train()
    out, = neck([torch.randn(1, 8, 6, 6, requires_grad=True)])
    out.relu_()  # a head that changed its input would get this, not silence
    with pytest.raises(RuntimeError, match='inplace'):
        out.sum().backward()


def test_forward_owned_writes_into_its_input_without_autograd():
    eca = randomise(ECAModule(kernel_size=3))
    x = torch.randn(2, 6, 5, 5)
    expected = eca(x)
    with torch.no_grad():
        y = eca.forward_owned(x)
    assert y.data_ptr() == x.data_ptr()
    torch.testing.assert_close(y, expected)
    x = torch.randn(2, 6, 5, 5, requires_grad=True)
    y = eca.forward_owned(x)
    assert y.data_ptr() != x.data_ptr()
    with torch.no_grad(), fused_eca(False):
        y = eca.forward_owned(x.detach())  # recorded/forbidden: a copy
    assert y.data_ptr() != x.data_ptr()


def test_inplace_plugin_is_the_same_model():
    torch.manual_seed(0)

    def resnet(**kwargs):
        # the class itself as the type: no default scope in this test
        plugins = [dict(p, cfg=dict(p['cfg'], type=ECA))
                   for p in eca_plugins((3, 5, 5, 7), **kwargs)]
        return ResNet(depth=50, base_channels=8, out_indices=(3, ),
                      plugins=plugins)

    plain, fast = resnet(inplace=False), resnet()
    assert all(m.inplace for m in fast.modules() if isinstance(m, ECA))
    randomise(plain)
    fast.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 64, 64)
    for model in (plain, fast):
        model.eval()
    with torch.no_grad():
        torch.testing.assert_close(fast(x), plain(x))
    for model in (plain, fast):
        model.train()
    grads = [
        torch.autograd.grad(m(x)[0].sum(), list(m.parameters()))
        for m in (plain, fast)
    ]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize('family', ['neck', 'efficientnet'])
def test_bfloat16_autocast_trains_as_the_paper_form_does(family):
    torch.manual_seed(0)
    if family == 'neck':
        model = randomise(ECAFPN(in_channels=[8, 16], out_channels=8,
                                 num_outs=3))
        x = [torch.randn(2, 8, 16, 16), torch.randn(2, 16, 8, 8)]
    else:
        model = randomise(ECAEfficientNet('b0', out_indices=(2, )))
        x = [torch.randn(2, 3, 32, 32)]
    model.train()

    def grads():
        xs = [t.clone().requires_grad_() for t in x]
        with torch.autocast('cpu', dtype=torch.bfloat16):
            outs = model(xs if family == 'neck' else xs[0])
        loss = sum(o.float().square().mean() for o in outs)
        return torch.autograd.grad(loss, xs + list(model.parameters()))

    fast = grads()
    with fused_eca(False):
        ref = grads()
    # bfloat16 keeps 8 bits: both forms round, differently; gradients that
    # are zero in theory are rounding noise, so the model's scale it is
    scale = max(r.abs().max() for r in ref)
    for g, r in zip(fast, ref):
        assert g.dtype == r.dtype
        assert (g - r).abs().max() <= 0.05 * scale


@pytest.mark.parametrize('family', sorted(FAMILIES) + ['neck'])
def test_a_hooked_eca_is_called_as_a_module(family):
    # FLOP counters and feature extractors hook the ECA modules
    if family == 'neck':
        model = ECAFPN(in_channels=[8, 16], out_channels=8, num_outs=3)
        x = [torch.randn(1, 8, 16, 16), torch.randn(1, 16, 8, 8)]
    else:
        model, x = FAMILIES[family](), torch.randn(1, 3, 64, 64)
    ecas = [m for m in model.modules() if isinstance(m, ECAModule)]
    seen = []
    for m in ecas:
        m.register_forward_hook(lambda m, i, o: seen.append(m))
    model.train()
    model(x)
    assert len(seen) == len(ecas) > 0


def plugin_resnet(cls=ResNet, **kwargs):
    # the class itself as the type: no default scope in these tests
    plugins = [dict(p, cfg=dict(p['cfg'], type=ECA))
               for p in eca_plugins((3, 5, 5, 7))]
    return cls(depth=50, base_channels=8, out_indices=(1, 3),
               plugins=plugins, **kwargs)


@pytest.mark.parametrize('mode', ['eval', 'frozen_bn', 'train'])
def test_fused_plugins_are_the_same_model(mode):
    torch.manual_seed(0)
    model = randomise(plugin_resnet(norm_eval=mode == 'frozen_bn'))
    model.double()
    model.train(mode != 'eval')  # mmdet's ResNet.train returns None
    before = copy.deepcopy(model)
    assert fuse_eca_plugins(model) == 16
    assert fuse_eca_plugins(model) == 0  # already fused
    assert model.state_dict().keys() == before.state_dict().keys()
    x = torch.randn(2, 3, 48, 40, dtype=torch.float64)
    fast, fast_grads = outputs_and_grads(model, x)
    ref, ref_grads = outputs_and_grads(before, x)
    for a, b in zip(fast + list(fast_grads), ref + list(ref_grads)):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-10)
    # a whole pickled model finds the fused class again
    clone = pickle.loads(pickle.dumps(model))
    assert type(clone.layer1[0]) is type(model.layer1[0])


def test_fused_plugins_in_resnext_keep_their_class():
    from mmdet.models.backbones import ResNeXt
    from mmdet.models.backbones.resnext import Bottleneck
    model = plugin_resnet(ResNeXt, groups=2, base_width=4)
    assert fuse_eca_plugins(model) == 16
    assert isinstance(model.layer2[0], Bottleneck)
    assert type(model.layer2[0]).__name__ == 'ECAFusedBottleneck_resnext'


def test_the_hook_fuses_the_runners_model():
    from mmdet_eca.engine.hooks import FuseECAPluginsHook

    class Runner:
        model = nn.Sequential(plugin_resnet())
        logger = type('Logger', (), {'info': lambda self, m: lines.append(m)
                                     })()

    lines = []
    FuseECAPluginsHook().before_run(Runner)
    assert lines == ['FuseECAPluginsHook: 16 blocks with an ECA plugin '
                     'after conv3 compute the fused ECA tail']
    assert type(Runner.model[0].layer1[0]).__name__ == 'ECAFusedBottleneck'
