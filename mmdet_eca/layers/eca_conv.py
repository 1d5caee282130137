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
ConvModule with another layer order or padding, hooks, a recorded model)
takes the paper's ``conv(eca(x))``. The
two differ only in rounding.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmcv.cnn.bricks.conv2d_adaptive_padding import Conv2dAdaptivePadding
from torch import Tensor

from ..compat import conv1x1_backward
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
    if parts is None:
        return conv(eca(x))
    conv2d, rest = parts
    attn = eca.attention(x).flatten(1)  # [N, C]
    if torch.is_grad_enabled() and (x.requires_grad or attn.requires_grad
                                    or conv2d.weight.requires_grad):
        y = _ScaledConv1x1.apply(x, conv2d.weight, conv2d.bias, attn)
    elif x.shape[0] == 1:  # nothing kept for backward: no autograd function
        y = _scaled_conv1x1(x, conv2d.weight, conv2d.bias, attn)
    else:
        # At inference the caller's x may be scaled in place: one pass, no
        # new tensor (see _scaled_conv1x1 for why not one weight per image)
        y = conv2d(x.mul_(attn[:, :, None, None]))
    for layer in rest:
        y = layer(y)
    return y


def _scaled_conv1x1(x: Tensor, weight: Tensor, bias,
                    attn: Tensor) -> Tensor:
    """``conv2d(x * attn[:, :, None, None], weight, bias)``, 1x1 ``weight``.

    One image: the convolution with ``weight * attn`` (no pass over ``x``).
    A batch would need one weight per image, a grouped convolution, which
    measured up to 40% slower than the batched one on CPU (RTMDet's CSP
    layers at batch 8): there the scaled copy is made and convolved.
    """
    if x.shape[0] == 1:
        return F.conv2d(x, weight * attn.view(1, -1, 1, 1), bias)
    return F.conv2d(x * attn[:, :, None, None], weight, bias)


class _ScaledConv1x1(torch.autograd.Function):
    """:func:`_scaled_conv1x1` keeping only ``x``, ``weight`` and ``attn``
    for backward.

    Autograd would also keep the scaled weight (one image: a copy of the
    conv's weight, about 1% of EfficientNet-B0's training memory) or the
    scaled copy of ``x`` (a batch: as much again as ``x``). Backward makes
    either again, asks the convolution's own backward for the gradients,
    and splits them by the product's rule into ``weight``'s, ``attn``'s and
    ``x``'s.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, attn):
        ctx.save_for_backward(x, weight, attn)
        ctx.has_bias = bias is not None
        return _scaled_conv1x1(x, weight, bias, attn)

    @staticmethod
    def backward(ctx, grad):
        x, weight, attn = ctx.saved_tensors
        need_x, need_w, need_b, need_a = ctx.needs_input_grad
        # Under autocast the forward convolved in grad's dtype; so does
        # this, and each gradient returns in its input's dtype.
        dtype = grad.dtype
        x_, weight_ = x.to(dtype), weight.to(dtype)
        scale = attn.to(dtype)[:, :, None, None]  # [N, C, 1, 1]
        grad_x = grad_weight = grad_attn = grad_bias = None
        if x.shape[0] == 1:
            grad_x, grad_folded = conv1x1_backward(
                grad, x_, weight_ * scale, (need_x, need_w or need_a))
            if need_w:
                grad_weight = grad_folded * scale
            if need_a:
                grad_attn = (grad_folded * weight_).sum(0).view(1, -1)
        else:
            grad_scaled, grad_weight = conv1x1_backward(
                grad, x_ * scale, weight_, (need_x or need_a, need_w))
            if need_a:
                # float32 sums in float16/bfloat16, as spatial_mean pools
                sum_dtype = torch.float32 if dtype in LOW_PRECISION else None
                grad_attn = (grad_scaled * x_).sum((2, 3), dtype=sum_dtype)
            if need_x:
                grad_x = grad_scaled * scale
        if need_b and ctx.has_bias:
            grad_bias = grad.sum((0, 2, 3))
        return (_cast(grad_x, x), _cast(grad_weight, weight),
                _cast(grad_bias, weight), _cast(grad_attn, attn))


def _cast(grad, like: Tensor):
    return None if grad is None else grad.to(like.dtype)
