"""ECA followed by a 1x1 convolution, with the scaling folded into it.

Where ECA sits before a pointwise convolution (EfficientNet's projection,
after the depthwise conv; the final conv of a CSP layer), the paper's
``conv(x * attn)`` writes out a scaled copy of ``x``, the widest tensor of
the block, and in training keeps both. But a 1x1 convolution is linear in
its input channels, so ``conv(x * attn) == conv_{W * attn}(x)``: for one
image the attention scales the weight's ``[out, in]`` columns instead, and
the block makes the same passes over ``x``, and saves the same tensors for
backward, as without attention, plus the pooling ECA needs anyway. With a
batch (one weight per image would need a grouped convolution, slower than
the batched one on CPU) ``x`` is scaled in place at inference, and in
training the scaled copy is dropped after the convolution and remade in
backward, so that nothing beyond ``x`` is kept.

Anything this does not recognise (a conv other than a plain 1x1, a
ConvModule with another layer order or padding, hooks, a recorded model,
channels-last input in a batch) takes the paper's ``conv(eca(x))``. The
two differ only in rounding.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmcv.cnn.bricks.conv2d_adaptive_padding import Conv2dAdaptivePadding
from torch import Tensor

from ..compat import grouped_conv1x1_backward
from .eca import LOW_PRECISION, ECAModule
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
        x (Tensor): [N, C, H, W], the caller's own: at inference with more
            than one image it is scaled in place.
        conv (nn.Module): A 1x1 ``nn.Conv2d`` or an mmcv ``ConvModule``
            whose conv is one (its norm and activation follow as usual).

    Returns:
        Tensor: ``conv(eca(x))``.
    """
    # A hooked ECA (a FLOP counter's) is called as a module, as hooked
    # convs are by pointwise_parts.
    parts = (pointwise_parts(conv) if isinstance(eca, ECAModule)
             and not has_hooks(eca) and fused_eca_allowed(x) else None)
    n = x.shape[0]
    if parts is None or (n > 1 and not x.is_contiguous()):
        return conv(eca(x))
    conv2d, rest = parts
    attn = eca.attention(x).flatten(1)  # [N, C]
    if torch.is_grad_enabled() and (x.requires_grad or attn.requires_grad
                                    or conv2d.weight.requires_grad):
        if n == 1:  # the conv with the scaled weight: no pass over x
            y = _ScaledPointwiseConv.apply(x, conv2d.weight, conv2d.bias,
                                           attn)
        else:
            y = _RecomputedScaling.apply(x, conv2d.weight, conv2d.bias, attn)
    elif n == 1:  # nothing to keep for backward: no autograd function
        y = _scaled_conv(x, conv2d.weight, conv2d.bias, attn)
    else:
        # A grouped convolution is slower than a batched one on CPU (up to
        # 40% in RTMDet's CSP layers at batch 8), and at inference the
        # caller's x may be scaled in place: one pass, no new tensor.
        y = conv2d(x.mul_(attn[:, :, None, None]))
    for layer in rest:
        y = layer(y)
    return y


def _grouped(x: Tensor, weight: Tensor, attn: Tensor):
    """``x`` as one image of N groups, and the weight each group gets."""
    n, channels, h, w = x.shape
    out_channels = weight.shape[0]
    scaled = weight.view(1, out_channels, channels) * attn[:, None]
    return (x.reshape(1, n * channels, h, w),
            scaled.reshape(n * out_channels, channels, 1, 1))


def _scaled_conv(x: Tensor, weight: Tensor, bias, attn: Tensor) -> Tensor:
    """``conv2d(x * attn)`` as a grouped convolution of N scaled weights
    ([1, N * O, H, W]; used for N = 1, where it is the plain one)."""
    n = x.shape[0]
    flat, scaled = _grouped(x, weight, attn)
    return F.conv2d(flat, scaled, None if bias is None else bias.repeat(n),
                    groups=n)


class _RecomputedScaling(torch.autograd.Function):
    """``conv2d(x * attn, weight, bias)`` for a batch, keeping ``x`` and
    not the scaled copy for backward.

    With several images a grouped convolution (one scaled weight per
    image) is slower than the batched one on CPU, so the scaled copy is
    made, convolved and dropped; backward makes it again (one pass over
    ``x``) for the weight's gradient. The block keeps what it keeps
    without attention.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, attn):
        y = F.conv2d(x * attn[:, :, None, None], weight, bias)
        ctx.save_for_backward(x, weight, attn)
        ctx.has_bias = bias is not None
        return y

    @staticmethod
    def backward(ctx, grad):
        x, weight, attn = ctx.saved_tensors
        need_x, need_w, need_b, need_a = ctx.needs_input_grad
        # Under autocast the forward convolved in grad's dtype; so does
        # this, and each gradient returns in its input's dtype.
        dtype = grad.dtype
        scale = attn.to(dtype)[:, :, None, None]
        scaled = x.to(dtype) * scale
        grad_scaled, grad_weight = grouped_conv1x1_backward(
            grad, scaled, weight.to(dtype), 1, (need_x or need_a, need_w))
        del scaled
        grad_x = grad_bias = grad_attn = None
        if need_a:
            dtype32 = torch.float32 if dtype in LOW_PRECISION else None
            grad_attn = (grad_scaled * x.to(dtype)).sum(
                (2, 3), dtype=dtype32).to(attn.dtype)
        if need_x:
            grad_x = (grad_scaled * scale).to(x.dtype)
        if need_w:
            grad_weight = grad_weight.to(weight.dtype)
        if need_b and ctx.has_bias:
            grad_bias = grad.sum((0, 2, 3)).to(weight.dtype)
        return grad_x, grad_weight, grad_bias, grad_attn


class _ScaledPointwiseConv(torch.autograd.Function):
    """``conv2d(x * attn, weight, bias)`` for a 1x1 ``weight``, computed as
    a grouped convolution of ``x`` with one ``weight * attn`` per image.

    Autograd would keep that per-image weight for backward: a copy of the
    conv's weight per image, about 1% of EfficientNet-B0's training
    memory. Here backward builds it again from ``weight`` and ``attn``
    (a [N, O, C] product, cheap) and asks the convolution's own backward
    for the gradients, which the product's rule then splits into
    ``weight``'s and ``attn``'s.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, attn):
        y = _scaled_conv(x, weight, bias, attn)
        ctx.save_for_backward(x, weight, attn)
        ctx.has_bias = bias is not None
        return y

    @staticmethod
    def backward(ctx, grad):
        x, weight, attn = ctx.saved_tensors
        n, channels = x.shape[:2]
        out_channels = weight.shape[0]
        # Under autocast the forward convolved in grad's dtype; so does
        # this, and each gradient returns in its input's dtype.
        dtype = grad.dtype
        flat, scaled = _grouped(x.to(dtype), weight.to(dtype),
                                attn.to(dtype))
        need_x, need_w, need_b, need_a = ctx.needs_input_grad
        grad_flat, grad_scaled = grouped_conv1x1_backward(
            grad, flat, scaled, n, (need_x, need_w or need_a))
        grad_x = grad_weight = grad_bias = grad_attn = None
        if need_x:
            grad_x = grad_flat.view(x.shape).to(x.dtype)
        if need_w or need_a:
            grad_scaled = grad_scaled.view(n, out_channels, channels)
        if need_w:
            grad_weight = (grad_scaled * attn.to(dtype)[:, None]).sum(0)
            grad_weight = grad_weight.view(weight.shape).to(weight.dtype)
        if need_a:
            grad_attn = (grad_scaled * weight.to(dtype).view(
                1, out_channels, channels)).sum(1).to(attn.dtype)
        if need_b and ctx.has_bias:
            grad_bias = grad.view(n, out_channels, -1).sum((0, 2))
            grad_bias = grad_bias.to(weight.dtype)
        return grad_x, grad_weight, grad_bias, grad_attn
