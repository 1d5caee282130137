"""The fast ECA block tail against the paper's formulation.

Every test builds an ECA block, copies it, runs one copy through its own
forward (the fast paths of ``mmdet_eca.layers.eca_residual``) and the other
through :func:`paper_block`, which writes the block out as the paper does
(``x * sigmoid(conv1d(avgpool(x)))``, then ``+ identity`` and ReLU), and
compares outputs, the input's gradient, every parameter's gradient and the
BatchNorm running statistics.
"""
import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmdet_eca.backbones.eca_resnet import ECABasicBlock, ECABottleneck
from mmdet_eca.layers.eca_residual import (conv1x1_output_mean, eca_residual,
                                           frozen_bn_affine, is_frozen_bn,
                                           per_sample_affine)


def paper_eca(x, weight):
    k = weight.shape[-1]
    y = F.adaptive_avg_pool2d(x, 1).flatten(1).unsqueeze(1)  # [N, 1, C]
    y = torch.sigmoid(F.conv1d(y, weight, padding=(k - 1) // 2))
    return x * y.squeeze(1)[:, :, None, None]


def paper_block(block, x):
    """The block's output, written out the paper's way."""
    if isinstance(block, ECABottleneck):
        out = F.relu(block.norm1(block.conv1(x)))
        out = F.relu(block.norm2(block.conv2(out)))
        out = block.norm3(block.conv3(out))
    else:
        out = F.relu(block.norm1(block.conv1(x)))
        out = block.norm2(block.conv2(out))
    out = paper_eca(out, block.eca.conv.weight)
    identity = x if block.downsample is None else block.downsample(x)
    return F.relu(out + identity)


def make_block(kind, downsample, norm='BN', dtype=torch.float64, seed=0):
    torch.manual_seed(seed)
    expansion = 4 if kind == 'bottleneck' else 1
    planes, stride = 4, 2 if downsample else 1
    inplanes = 8 if downsample else planes * expansion
    norm_cfg = (dict(type='GN', num_groups=2) if norm == 'GN' else
                dict(type='BN'))
    down = None
    if downsample:
        down = nn.Sequential(
            nn.Conv2d(inplanes, planes * expansion, 1, stride, bias=False),
            nn.BatchNorm2d(planes * expansion) if norm == 'BN' else
            nn.GroupNorm(2, planes * expansion))
    cls = ECABottleneck if kind == 'bottleneck' else ECABasicBlock
    block = cls(inplanes, planes, stride, downsample=down, norm_cfg=norm_cfg,
                eca_kernel_size=3)
    with torch.no_grad():
        for name, t in block.state_dict().items():
            if name.endswith('num_batches_tracked'):
                continue
            if name.endswith('running_var'):
                t.uniform_(0.5, 1.5)
            elif name.endswith('running_mean') or name.endswith('bias'):
                t.uniform_(-0.5, 0.5)
            elif t.dim() == 1:  # norm weights
                t.uniform_(0.5, 1.5)
            else:
                t.normal_(0, (2.0 / t[0].numel())**0.5)
    return block.to(dtype), inplanes


def set_mode(block, mode):
    """'eval', 'frozen' (train, BN in eval as with norm_eval) or 'train'."""
    block.train(mode != 'eval')
    if mode == 'frozen':
        for m in block.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eval()


def assert_close(actual, expected, tol, msg=''):
    """Equal up to ``tol`` relative to the largest magnitude in ``expected``.

    Gradients summed over many pixels reach magnitudes in the hundreds, so
    an element-wise tolerance would ask float32 for more than it carries.
    """
    scale = max(1.0, expected.abs().max().item())
    error = (actual - expected).abs().max().item()
    assert error <= tol * scale, f'{msg}: max error {error:.3g}, scale ' \
        f'{scale:.3g}'


def compare(block, inplanes, mode, dtype, tol, channels_last=False):
    block.zero_grad(set_to_none=True)
    fast, ref = block, copy.deepcopy(block)
    for m in (fast, ref):
        set_mode(m, mode)
    x = torch.randn(3, inplanes, 8, 8, dtype=dtype)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x_fast, x_ref = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_fast, out_ref = fast(x_fast), paper_block(ref, x_ref)
    assert_close(out_fast, out_ref, tol, 'output')
    weight = torch.randn_like(out_ref)
    (out_fast * weight).sum().backward()
    (out_ref * weight).sum().backward()
    assert_close(x_fast.grad, x_ref.grad, tol, 'input grad')
    ref_params = dict(ref.named_parameters())
    for name, p in fast.named_parameters():
        assert p.grad is not None, name
        assert_close(p.grad, ref_params[name].grad, tol, name)
    ref_buffers = dict(ref.named_buffers())
    for name, b in fast.named_buffers():
        assert_close(b.double(), ref_buffers[name].double(), tol, name)


@pytest.mark.parametrize('kind', ['bottleneck', 'basic'])
@pytest.mark.parametrize('downsample', [False, True])
@pytest.mark.parametrize('mode', ['eval', 'frozen', 'train'])
@pytest.mark.parametrize('dtype,tol', [(torch.float64, 1e-10),
                                       (torch.float32, 1e-5)])
def test_matches_paper_values_and_gradients(kind, downsample, mode, dtype,
                                            tol):
    block, inplanes = make_block(kind, downsample, dtype=dtype)
    compare(block, inplanes, mode, dtype, tol)


@pytest.mark.parametrize('mode', ['eval', 'frozen', 'train'])
def test_group_norm_falls_back_to_the_paper_formulation(mode):
    block, inplanes = make_block('bottleneck', True, norm='GN')
    assert not is_frozen_bn(block.norm3, torch.zeros(1, dtype=torch.double))
    compare(block, inplanes, mode, torch.float64, 1e-10)


@pytest.mark.parametrize('mode', ['eval', 'train'])
def test_channels_last(mode):
    block, inplanes = make_block('bottleneck', True, dtype=torch.float32)
    block.to(memory_format=torch.channels_last)
    compare(block, inplanes, mode, torch.float32, 1e-5, channels_last=True)


def test_cumulative_momentum_and_running_stats():
    # momentum=None makes BatchNorm average over all batches so far.
    block, inplanes = make_block('bottleneck', False)
    block.norm3.momentum = None
    for _ in range(2):
        compare(block, inplanes, 'train', torch.float64, 1e-10)
    assert block.norm3.num_batches_tracked.item() == 2


def test_without_grad_and_frozen_stages():
    block, inplanes = make_block('bottleneck', True)
    ref = copy.deepcopy(block)
    for m in (block, ref):
        m.train()
        m.requires_grad_(False)  # a frozen stage trains with BN in train
    x = torch.randn(2, inplanes, 8, 8, dtype=torch.float64)
    torch.testing.assert_close(block(x), paper_block(ref, x))
    with torch.no_grad():
        torch.testing.assert_close(block(x), paper_block(ref, x))
    torch.testing.assert_close(block.norm3.running_mean,
                               ref.norm3.running_mean)


def test_hooks_on_the_norm_are_honoured():
    # The fast paths compute norm3 without calling it; with a hook on it
    # the block calls it, so the hook sees every forward.
    block, inplanes = make_block('bottleneck', False)
    block.eval()
    seen = []
    block.norm3.register_forward_hook(lambda m, i, o: seen.append(m))
    compare(block, inplanes, 'eval', torch.float64, 1e-10)
    assert sum(m is block.norm3 for m in seen) == 1


def test_after_conv3_plugins_use_the_paper_order():
    block = ECABottleneck(
        16, 4, eca_kernel_size=3,
        plugins=[dict(cfg=dict(type='ContextBlock', ratio=1. / 4),
                      position='after_conv3')]).double()
    block.eval()
    x = torch.randn(2, 16, 8, 8, dtype=torch.float64)
    out = block.norm3(block.conv3(F.relu(block.norm2(block.conv2(
        F.relu(block.norm1(block.conv1(x))))))))
    out = paper_eca(block.context_block(out), block.eca.conv.weight)
    torch.testing.assert_close(block(x), F.relu(out + x))


def saved_bytes(block, x):
    """Bytes autograd keeps for the backward of one forward of ``block``."""
    seen = {}

    def pack(t):
        seen[(t.untyped_storage().data_ptr(), t.dtype)] = t.nbytes
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        block(x)
    return sum(seen.values())


@pytest.mark.parametrize('mode', ['frozen', 'train'])
@pytest.mark.parametrize('downsample', [False, True])
def test_keeps_no_more_for_backward_than_a_plain_bottleneck(mode, downsample):
    from mmdet.models.backbones.resnet import Bottleneck
    block, inplanes = make_block('bottleneck', downsample, dtype=torch.float32)
    plain = Bottleneck(inplanes, 4, 2 if downsample else 1,
                       downsample=copy.deepcopy(block.downsample))
    for m in (block, plain):
        set_mode(m, mode)
    x = torch.randn(2, inplanes, 16, 16, requires_grad=True)
    eca_bytes, plain_bytes = saved_bytes(block, x), saved_bytes(plain, x)
    # The attention keeps a few [N, C] tensors and its weight on top.
    assert eca_bytes - plain_bytes <= 64 * block.norm3.num_features


def test_conv1x1_output_mean():
    torch.manual_seed(0)
    x = torch.randn(2, 6, 5, 7, dtype=torch.float64)
    for bias in (False, True):
        conv = nn.Conv2d(6, 12, 1, bias=bias).double()
        torch.testing.assert_close(
            conv1x1_output_mean(conv, x), conv(x).mean((2, 3)))
    # 2x2 pixels: conv3's 64x256 weight outweighs pooling 4x fewer channels
    small = torch.randn(1, 64, 2, 2, dtype=torch.float64)
    assert conv1x1_output_mean(nn.Conv2d(64, 256, 1).double(), small) is None
    assert conv1x1_output_mean(nn.Conv2d(6, 12, 3), x) is None
    assert conv1x1_output_mean(nn.Conv2d(6, 12, 1, stride=2), x) is None
    assert conv1x1_output_mean(nn.Conv2d(6, 12, 1, padding=1), x) is None
    assert conv1x1_output_mean(nn.Conv2d(6, 12, 1, groups=2), x) is None

    class Standardised(nn.Conv2d):  # e.g. mmcv's ConvWS2d
        pass

    assert conv1x1_output_mean(Standardised(6, 12, 1), x) is None
    hooked = nn.Conv2d(6, 12, 1).double()
    hooked.register_forward_pre_hook(lambda m, i: None)  # e.g. spectral norm
    assert conv1x1_output_mean(hooked, x) is None


def test_frozen_bn_affine_and_conditions():
    bn = nn.BatchNorm2d(5).double()
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.uniform_(0.5, 2)
        bn.bias.uniform_(-1, 1)
    z = torch.randn(2, 5, 3, 3, dtype=torch.float64)
    bn.eval()
    assert is_frozen_bn(bn, z)
    scale, shift = frozen_bn_affine(bn)
    torch.testing.assert_close(bn(z), z * scale.view(1, -1, 1, 1) +
                               shift.view(1, -1, 1, 1))
    assert not is_frozen_bn(bn, z.float())  # mixed dtypes: leave to BN
    bn.train()
    assert not is_frozen_bn(bn, z)
    bn.eval()
    no_stats = nn.BatchNorm2d(5, track_running_stats=False).double().eval()
    assert not is_frozen_bn(no_stats, z)


def test_eca_residual_without_a_block():
    from mmdet_eca.layers import ECAModule
    torch.manual_seed(0)
    eca, bn = ECAModule(kernel_size=3).double(), nn.BatchNorm2d(8).double()
    z, identity = (torch.randn(2, 8, 4, 4, dtype=torch.float64)
                   for _ in range(2))
    for training in (False, True):
        bn.train(training)
        ref_bn = copy.deepcopy(bn)
        expected = identity + paper_eca(ref_bn(z), eca.conv.weight)
        torch.testing.assert_close(eca_residual(eca, bn, z, identity),
                                   expected)


@pytest.mark.parametrize('grad', [False, True])
@pytest.mark.parametrize('channels_last', [False, True])
def test_per_sample_affine(grad, channels_last):
    torch.manual_seed(0)
    z = torch.randn(2, 3, 4, 5, dtype=torch.float64)
    if channels_last:
        z = z.contiguous(memory_format=torch.channels_last)
    scale, shift = (torch.randn(2, 3, dtype=torch.float64) for _ in range(2))
    for t in (z, scale, shift):
        t.requires_grad_(grad)
    out = per_sample_affine(z, scale, shift)
    expected = z * scale[..., None, None] + shift[..., None, None]
    torch.testing.assert_close(out, expected)
    assert out.requires_grad == grad
    if grad:
        g = torch.randn_like(out)
        got = torch.autograd.grad(out, (z, scale, shift), g)
        want = torch.autograd.grad(expected, (z, scale, shift), g)
        for a, b in zip(got, want):
            torch.testing.assert_close(a, b)


@pytest.mark.parametrize('mode', ['frozen', 'train'])
def test_training_step_peak_memory_next_to_a_plain_bottleneck(mode):
    from mmdet.models.backbones.resnet import Bottleneck

    from analysis_tools import peak_memory
    block, inplanes = make_block('bottleneck', False, dtype=torch.float32)
    plain = Bottleneck(inplanes, 4)
    x = torch.randn(2, inplanes, 32, 32, requires_grad=True)
    peaks = []
    for m in (block, plain):
        set_mode(m, mode)

        def step(m=m):
            m(x).sum().backward()
            m.zero_grad(set_to_none=True)
            x.grad = None

        peaks.append(peak_memory(step))
    eca_peak, plain_peak = peaks
    if mode == 'frozen':
        # no temporary in the backward pass either
        assert eca_peak <= plain_peak * 1.01
    else:
        # batch statistics: the scaled gradient grad * attn is one more
        # tensor of the block's output size while the BN backward runs
        assert eca_peak <= plain_peak + x.nbytes * 1.01
