"""Every family's ECA against the paper's formulation, and its hooks.

Each ECA is a module call whose channel scaling may take a cheaper form
(``mmdet_eca.layers.eca_scale``): in place at inference, keeping the
product (neck, EfficientNet, CSP layers) or the norm's input (ResNet,
MobileNetV2, fused plugins) for backward. Each family is run against the
same model under ``paper_formulation()`` (``x * gate`` as written), in
float64: outputs, the input's gradient, every parameter's and the norms'
running statistics, in eval, frozen-BN training (MMDetection's
``norm_eval=True``) and batch-statistics training.
"""
import copy
import pickle

import pytest
import torch
import torch.nn as nn
from analysis_tools.forms import (FAMILIES, family_input, plugin_resnet,
                                  randomise, run_model, set_mode)
from analysis_tools.paper_eca import paper_formulation
from mmdet.models.backbones import ResNeXt

from mmdet_eca.backbones import fuse_eca_plugins
from mmdet_eca.layers import ECA, ECAModule
from mmdet_eca.layers.eca_scale import channel_scale
from mmdet_eca.necks import ECAFPN

WIDTH = 1 / 32  # 8 channels where the real network has 256


def build(family):
    return FAMILIES[family](WIDTH)


# what backward keeps in training, by family (the class of the ECA
# outputs' grad_fn): the product, the norm's input, or autograd's mul
KEEPS = {
    'resnet18': '_KeepNormInputBackward',
    'resnet50': '_KeepNormInputBackward',
    'plugin': 'MulBackward0',
    'plugin-fused': '_KeepNormInputBackward',
    'mobilenetv2': '_KeepNormInputBackward',
    'efficientnet': '_KeepOutputBackward',
    'cspnext': '_KeepOutputBackward',
    'cspdarknet': '_KeepOutputBackward',
    'neck': '_KeepOutputBackward',
}


def assert_matches_paper(model, x, rtol=1e-9):
    """``model``'s forms against its own paper formulation."""
    paper = copy.deepcopy(model)
    fast_outs, fast_grads = run_model(model, x)
    with paper_formulation():
        ref_outs, ref_grads = run_model(paper, x)
    for fast, ref in zip(fast_outs, ref_outs):
        torch.testing.assert_close(fast, ref, rtol=rtol, atol=1e-12)
    assert len(fast_grads) == len(ref_grads)
    scale = max((g.abs().max() for g in ref_grads if g is not None),
                default=torch.tensor(1.))
    for fast, ref in zip(fast_grads, ref_grads):
        assert (fast is None) == (ref is None)
        if ref is not None:
            # zero-in-theory gradients (a bias before a batch-statistics
            # norm) are rounding noise in both: compare on the model's scale
            torch.testing.assert_close(
                fast, ref, rtol=rtol, atol=1e-12 * float(scale))
    for (name, a), (_, b) in zip(model.named_buffers(),
                                 paper.named_buffers()):
        torch.testing.assert_close(a, b, msg=name)


@pytest.mark.parametrize('family', sorted(FAMILIES))
@pytest.mark.parametrize('mode', ['eval', 'frozen_bn', 'train'])
@pytest.mark.parametrize('batch,size', [(1, 33), (3, 46)])
def test_family_matches_paper(family, mode, batch, size):
    torch.manual_seed(0)
    model = set_mode(randomise(build(family)).double(), mode)
    assert_matches_paper(model, family_input(family, batch, size,
                                             dtype=torch.float64))


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_family_channels_last_and_identity_mode(family):
    torch.manual_seed(0)
    model = randomise(build(family)).double()
    for m in model.modules():
        if isinstance(m, ECAModule):
            m.identity_init = True  # the 2 * sigmoid gate, weights random
    model.to(memory_format=torch.channels_last).train()
    x = family_input(family, 2, 48, dtype=torch.float64)
    x = [t.contiguous(memory_format=torch.channels_last)
         for t in (x if isinstance(x, list) else [x])]
    x = x if family == 'neck' else x[0]
    assert_matches_paper(model, x)
    model.eval()
    assert_matches_paper(model, [t[:1] for t in x] if family == 'neck'
                         else x[:1])


@pytest.mark.parametrize('family', ['resnet50', 'neck', 'efficientnet'])
def test_one_by_one_maps(family):
    # a 32x downsampled 17x17 input ends in 1x1 maps: batch statistics over
    # one pixel per sample, which CUDA's BatchNorm treats as channels-last
    model = set_mode(randomise(build(family)).double(), 'train')
    assert_matches_paper(model, family_input(family, 4, 17,
                                             dtype=torch.float64))


@pytest.mark.parametrize('family', sorted(FAMILIES))
@pytest.mark.parametrize('mode', ['eval', 'frozen_bn', 'train'])
def test_every_eca_is_a_module_call(family, mode):
    # FLOP counters, feature extractors and Grad-CAM hook the ECA modules
    # (module backward hooks cannot be had where the block adds to the
    # attention's output in place, as mmdet's Bottleneck does for any
    # plugin; a gradient hook on the output tensor, as Grad-CAM tools
    # register from a forward hook, can)
    model = set_mode(build(family), mode)
    ecas = [m for m in model.modules() if isinstance(m, ECAModule)]
    seen, grads = [], []

    def forward_hook(m, args, out):
        seen.append(('out', m))
        if out.requires_grad:
            out.register_hook(lambda grad: grads.append(m))

    for m in ecas:
        m.register_forward_pre_hook(lambda m, args: seen.append(('pre', m)))
        m.register_forward_hook(forward_hook)
    outs = model(family_input(family, 1, 40))
    assert len(seen) == 2 * len(ecas) > 0
    for m in ecas:  # each exactly once, the pre-hook first
        assert [kind for kind, s in seen if s is m] == ['pre', 'out']
    if mode != 'eval':
        sum(o.sum() for o in outs).backward()
        assert sorted(map(id, grads)) == sorted(map(id, ecas))


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_training_keeps_what_the_family_keeps_anyway(family):
    # The memory saving of each family, shown by what its ECA outputs'
    # backward is: a regression to autograd's mul would keep the input.
    model = set_mode(build(family), 'frozen_bn')
    kinds = []
    for m in model.modules():
        if isinstance(m, ECAModule):
            m.register_forward_hook(
                lambda m, args, out: kinds.append(type(out.grad_fn).__name__))
    model(family_input(family, 2, 40))
    assert kinds and set(kinds) == {KEEPS[family]}


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_inference_scales_in_place(family):
    model = set_mode(build(family), 'eval')
    same = []
    for m in model.modules():
        if isinstance(m, ECAModule):
            m.register_forward_hook(lambda m, args, out: same.append(
                out.data_ptr() == args[0].data_ptr()))
    with torch.no_grad():
        model(family_input(family, 1, 40))
    assert same and all(same) == (family != 'plugin' or all(
        m.inplace for m in model.modules() if isinstance(m, ECA)))


def test_the_plugins_inplace_flag():
    plain = set_mode(plugin_resnet(), 'eval')
    for m in plain.modules():
        if isinstance(m, ECA):
            m.inplace = False
    x = torch.randn(1, 3, 40, 40)
    with torch.no_grad():
        eca = plain.layer1[0].eca
        feats = torch.randn(1, eca.in_channels, 5, 5)
        assert eca(feats).data_ptr() != feats.data_ptr()
        eca.inplace = True
        assert eca(feats).data_ptr() == feats.data_ptr()
        plain(x)


@pytest.mark.parametrize('norm', [
    lambda: nn.GroupNorm(2, 8),
    lambda: nn.SyncBatchNorm(8),
    lambda: type('SubclassedBN', (nn.BatchNorm2d, ), {})(8),
])
def test_norms_it_cannot_recompute_keep_the_input(norm):
    norm = norm().double().train()
    eca = randomise(ECAModule(kernel_size=3)).double()
    z = torch.randn(2, 8, 5, 5, dtype=torch.float64, requires_grad=True)
    if isinstance(norm, nn.SyncBatchNorm):
        # a SyncBN in training spans processes: the paper's form, which
        # here runs on the plain BatchNorm output it would give
        x = nn.functional.batch_norm(z, None, None, training=True)
    else:
        x = norm(z)
    y = eca(x, (norm, z))
    assert type(y.grad_fn).__name__ == 'MulBackward0'


def test_changing_a_kept_output_in_place_is_caught():
    neck = ECAFPN(in_channels=[8], out_channels=8, num_outs=1).train()
    out, = neck([torch.randn(1, 8, 6, 6, requires_grad=True)])
    out.relu_()  # a head that changed its input would get this, not silence
    with pytest.raises(RuntimeError, match='inplace'):
        out.sum().backward()


@pytest.mark.parametrize('family', ['resnet50', 'mobilenetv2', 'neck',
                                    'efficientnet', 'cspnext'])
@pytest.mark.parametrize('mode', ['frozen_bn', 'train'])
def test_bfloat16_autocast_trains_as_the_paper_form_does(family, mode):
    torch.manual_seed(0)
    model = set_mode(randomise(build(family)), mode)
    x = family_input(family, 2, 40)

    def grads():
        xs = [t.clone().requires_grad_() for t in
              (x if isinstance(x, list) else [x])]
        with torch.autocast('cpu', dtype=torch.bfloat16):
            outs = model(xs if family == 'neck' else xs[0])
        loss = sum(o.float().square().mean() for o in outs)
        return torch.autograd.grad(loss, xs + list(model.parameters()))

    fast = grads()
    with paper_formulation():
        ref = grads()
    # bfloat16 keeps 8 bits: both forms round, differently; gradients that
    # are zero in theory are rounding noise, so the model's scale it is
    scale = max(r.abs().max() for r in ref)
    for g, r in zip(fast, ref):
        assert g.dtype == r.dtype
        assert (g - r).abs().max() <= 0.05 * scale


def test_channel_scale_promotes_as_the_paper_does():
    eca = ECAModule(kernel_size=3, inplace=True)
    x = torch.randn(1, 4, 3, 3, dtype=torch.bfloat16)
    logits = torch.randn(1, 4)  # float32: the product is float32 too
    with torch.no_grad():
        y = channel_scale(eca, x, logits)
    assert y.dtype == torch.float32 and y.data_ptr() != x.data_ptr()


@pytest.mark.parametrize('mode', ['eval', 'frozen_bn', 'train'])
def test_fused_plugins_are_the_same_model(mode):
    torch.manual_seed(0)
    model = set_mode(randomise(plugin_resnet()).double(), mode)
    before = copy.deepcopy(model)
    assert fuse_eca_plugins(model) == 16
    assert fuse_eca_plugins(model) == 0  # already fused
    assert model.state_dict().keys() == before.state_dict().keys()
    x = torch.randn(2, 3, 48, 40, dtype=torch.float64)
    fast, fast_grads = run_model(model, x)
    ref, ref_grads = run_model(before, x)
    for a, b in zip(fast + list(fast_grads), ref + list(ref_grads)):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-10)
    # a whole pickled model finds the fused class again
    clone = pickle.loads(pickle.dumps(model))
    assert type(clone.layer1[0]) is type(model.layer1[0])


def test_fused_plugins_in_resnext_keep_their_class():
    from mmdet.models.backbones.resnext import Bottleneck
    model = plugin_resnet(cls=ResNeXt, groups=2, base_width=4)
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
                     "after conv3 take ECAResNet's tail"]
    assert type(Runner.model[0].layer1[0]).__name__ == 'ECAFusedBottleneck'


@pytest.mark.parametrize('mode', ['eval', 'frozen_bn', 'train'])
@pytest.mark.parametrize('depth', [18, 50])
def test_resnet_memory_is_the_plain_resnets(depth, mode):
    # The forms' point: ECA's peak memory within 1% of the network without
    # attention (tools/benchmark.py measures it at full size).
    from analysis_tools.memory import peak_memory
    from mmdet.models.backbones import ResNet

    from mmdet_eca.backbones import ECAResNet
    models = [set_mode(cls(depth, base_channels=16, out_indices=(1, 3)), mode)
              for cls in (ResNet, ECAResNet)]
    x = torch.randn(1, 3, 160, 224)

    def step(model):
        if mode == 'eval':
            with torch.no_grad():
                return model(x)
        sum(o.mean() for o in model(x.requires_grad_())).backward()

    plain, eca = (peak_memory(lambda m=m: step(m)) for m in models)
    assert eca <= 1.01 * plain


@pytest.mark.parametrize('how', ['norm_input', 'keep_output'])
def test_the_attended_input_is_not_kept(how):
    # the pooling as much as the scaling: torch 2.1's mean keeps its input
    import gc
    import weakref
    norm = nn.BatchNorm2d(8).eval()
    eca = ECAModule(kernel_size=3, keep_output=how == 'keep_output')
    z = torch.randn(2, 8, 5, 5, requires_grad=True) * 1
    x = norm(z)
    kept = weakref.ref(x)
    y = eca(x, (norm, z)) if how == 'norm_input' else eca(x)
    del x
    gc.collect()
    assert kept() is None
    y.sum().backward()
    assert eca.conv.weight.grad is not None
