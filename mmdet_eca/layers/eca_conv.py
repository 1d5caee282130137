"""ECA followed by a 1x1 convolution, with the scaling folded into it.

Where ECA sits before a pointwise convolution (EfficientNet's projection,
after the depthwise conv; the final conv of a CSP layer), the paper's
``conv(x * attn)`` writes out a scaled copy of ``x``, the widest tensor of
the block, and in training keeps both. But a 1x1 convolution is linear in
its input channels, so ``conv(x * attn) == conv_{W * attn}(x)``: the
attention scales the weight's ``[out, in]`` columns instead, per sample,
as a grouped convolution with one group per image. The block then makes
the same passes over ``x``, and saves the same tensors for backward, as
without attention, plus the pooling ECA needs anyway.

Anything this does not recognise (a conv other than a plain 1x1, a
ConvModule with another layer order or padding, hooks, a recorded model,
channels-last input in a batch) takes the paper's ``conv(eca(x))``. The
two differ only in rounding.
"""
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmcv.cnn.bricks.conv2d_adaptive_padding import Conv2dAdaptivePadding
from torch import Tensor

from .eca import ECAModule
from .execution_mode import fused_eca_allowed, has_hooks


# Exact types: a subclass may override forward (weight standardisation).
# EfficientNet's adaptive padding pads nothing for a 1x1 kernel at stride 1.
_POINTWISE_TYPES = (nn.Conv2d, Conv2dAdaptivePadding)


def _plain_pointwise(conv: nn.Module) -> bool:
    return (type(conv) in _POINTWISE_TYPES and conv.kernel_size == (1, 1)
            and conv.stride == (1, 1) and conv.padding == (0, 0)
            and conv.dilation == (1, 1) and conv.groups == 1
            and not has_hooks(conv))


def pointwise_parts(module: nn.Module):
    """``(conv, [layers after it])`` of a plain 1x1 conv or a ConvModule
    built on one, or None when ``module`` is anything else or hooked."""
    if type(module) in _POINTWISE_TYPES:
        return (module, []) if _plain_pointwise(module) else None
    if type(module) is not ConvModule or has_hooks(module):
        return None
    if module.order[0] != 'conv' or getattr(module, 'with_explicit_padding',
                                            False):
        return None
    if not _plain_pointwise(module.conv):
        return None
    rest = []
    for layer in module.order[1:]:
        if layer == 'norm' and module.with_norm:
            rest.append(module.norm)
        elif layer == 'act' and module.with_activation:
            rest.append(module.activate)
    return module.conv, rest


def eca_conv1x1(eca: ECAModule, x: Tensor, conv: nn.Module) -> Tensor:
    """``conv(eca(x))`` without materialising ``eca(x)``.

    Args:
        eca (nn.Module): The attention on ``x``, an :class:`ECAModule`
            (any other module is called as it is).
        x (Tensor): [N, C, H, W].
        conv (nn.Module): A 1x1 ``nn.Conv2d`` or an mmcv ``ConvModule``
            whose conv is one (its norm and activation follow as usual).

    Returns:
        Tensor: ``conv(eca(x))``.
    """
    parts = (pointwise_parts(conv) if isinstance(eca, ECAModule)
             and fused_eca_allowed(x) else None)
    n = x.shape[0]
    if parts is None or (n > 1 and not x.is_contiguous()):
        return conv(eca(x))
    conv2d, rest = parts
    attn = eca.attention(x).flatten(1)  # [N, C]
    out_channels, channels = conv2d.weight.shape[:2]
    weight = conv2d.weight.view(1, out_channels, channels) * attn[:, None]
    bias = None if conv2d.bias is None else conv2d.bias.repeat(n)
    h, w = x.shape[2:]
    # One group per image: each is convolved with its own scaled weight.
    y = F.conv2d(
        x.reshape(1, n * channels, h, w),
        weight.reshape(n * out_channels, channels, 1, 1),
        bias,
        groups=n).view(n, out_channels, h, w)
    for layer in rest:
        y = layer(y)
    return y
