"""The tail of an ECA residual block, ``identity + eca(norm(z))``, made cheap.

Written out as the paper has it, the tail is ``out = norm(z)``, then
``out * sigmoid(conv1d(mean_hw(out)))`` and ``+ identity``. A plain ResNet
block does the norm and the addition too; ECA adds a pass that pools
``out``, a new tensor for the scaled features (on CPU each large new tensor
is also paid for in page faults) and, in training, autograd keeps ``out``
alive for the attention's gradient: a third more activation memory per
bottleneck, and a ``grad * out`` temporary in the backward pass.
:func:`eca_residual` computes the same values without those costs:

* BatchNorm with running statistics (eval mode, or frozen with
  ``norm_eval=True``, as MMDetection trains detectors): the norm is a
  per-channel affine ``z * scale + shift``, so ``norm(z) * attn ==
  z * (scale * attn) + shift * attn``, one per-sample affine of ``z``,
  which :class:`_PerSampleAffine` computes with the BatchNorm kernels
  themselves: the same passes, allocations and saved tensors as the plain
  block's norm. The channel means it needs are ``mean_hw(z) * scale +
  shift``, and for a bottleneck ``mean_hw(z)`` comes from conv3's 4x
  narrower input where that reads less (:func:`conv1x1_output_mean`).
* BatchNorm with batch statistics (training with ``norm_eval=False``):
  :class:`_ScaledResidual` writes ``identity + out * attn`` into ``out`` and
  keeps ``z`` (which the BatchNorm keeps anyway) and the batch statistics
  instead of ``out``; the attention's gradient comes from them.
* Anything else (GroupNorm, SyncBN in training, a norm with hooks,
  plugins after conv3), and whenever a tracer, exporter or compiler records
  the model (``torch.jit``, both ONNX exporters, ``torch.fx``,
  ``torch.compile``, see :mod:`.execution_mode`): the paper's formulation,
  with the scaling fused into the residual addition
  (:meth:`ECAModule.forward_residual`).

Under autocast the convolutions give float16 or bfloat16 ``z`` while the
BatchNorm keeps float32 parameters; the fast paths then call the BatchNorm
kernels with the same mixed dtypes the module call would, so mixed
precision training takes them too.

The paths differ only in rounding; the tests hold them to the paper's
formulation in float32 and float64, values and gradients, and under
autocast to the paper's formulation's own rounding error.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from .eca import LOW_PRECISION, ECAModule, spatial_mean
from .execution_mode import fused_eca_allowed, has_hooks


def _bn_dtypes(norm: nn.Module, z: Tensor) -> bool:
    """Whether BatchNorm's kernels take ``z`` with ``norm``'s parameters:
    one dtype, or (autocast's case) float16/bfloat16 input with float32
    parameters and statistics, which BatchNorm computes in float32."""
    stats = norm.running_mean.dtype
    return z.dtype == stats or (stats == torch.float32
                                and z.dtype in LOW_PRECISION)


def _plain_bn(norm: nn.Module, z: Tensor) -> bool:
    """Whether ``norm`` is an unhooked BatchNorm2d that may be bypassed."""
    # Exact types only: a subclass may override forward.
    return (type(norm) in (nn.BatchNorm2d, nn.SyncBatchNorm)
            and fused_eca_allowed(z) and not has_hooks(norm)
            and norm.running_mean is not None and _bn_dtypes(norm, z))


def is_frozen_bn(norm: nn.Module, z: Tensor) -> bool:
    """Whether ``norm(z)`` is a fixed per-channel affine of ``z``.

    True for an eval-mode BatchNorm (``norm_eval=True`` included) that
    normalises with its running statistics and has no hooks, in eager
    mode (:func:`.execution_mode.fused_eca_allowed`): False while the
    model is traced, exported or compiled, so that the caller computes
    the norm as a module call.

    Args:
        norm (nn.Module): The block's last norm.
        z (Tensor): Its input.
    """
    return (_plain_bn(norm, z) and not norm.training
            and norm.running_var is not None)


def frozen_bn_affine(norm: nn.BatchNorm2d) -> Tuple[Tensor, Tensor]:
    """``(scale, shift)`` with ``norm(z) == z * scale + shift`` per channel.

    Differentiable in the norm's weight and bias, so frozen-statistics
    training still updates them.

    Args:
        norm (nn.BatchNorm2d): A norm for which :func:`is_frozen_bn` holds.
    """
    scale = torch.rsqrt(norm.running_var + norm.eps)
    if norm.weight is not None:
        scale = scale * norm.weight
    shift = -norm.running_mean * scale
    if norm.bias is not None:
        shift = shift + norm.bias
    return scale, shift


def conv1x1_output_mean(conv: nn.Module, x: Tensor) -> Optional[Tensor]:
    """``conv(x).mean((2, 3))`` pooled on ``x``, or None if not exact or
    not cheaper.

    A 1x1 convolution with stride 1 and no padding is a matrix product at
    every pixel, so the spatial mean of its output is the same product of
    the spatial mean of its input. In a bottleneck conv3's input has a
    quarter of the output's channels, so pooling it reads a quarter as
    much, plus conv3's weight for the product; on small feature maps the
    weight outweighs the saving, and pooling the output is cheaper.

    Args:
        conv (nn.Module): The convolution producing the block's ``z``.
        x (Tensor): Its input, [N, C_in, H, W].

    Returns:
        Tensor | None: [N, C_out] channel means of ``conv(x)``, or None
        when pooling the output reads no more elements than pooling ``x``
        and the weight, or when ``conv`` is not a plain 1x1 ``nn.Conv2d``
        (DCN, weight standardisation, strides, groups, padding) or has
        hooks (which may change its weight or output, as spectral norm
        does).
    """
    if not (type(conv) is nn.Conv2d and conv.kernel_size == (1, 1)
            and conv.stride == (1, 1) and conv.padding == (0, 0)
            and conv.groups == 1 and not has_hooks(conv)):
        return None
    pixels = x.shape[0] * x.shape[2] * x.shape[3]
    c_in, c_out = conv.in_channels, conv.out_channels
    if pixels * c_in + c_out * c_in >= pixels * c_out:
        return None
    return nn.functional.linear(
        spatial_mean(x), conv.weight.flatten(1), conv.bias)


def _unit_stats(z: Tensor, dtype: torch.dtype) -> Tensor:
    """Mean 0 (row 0) and variance 1 (row 1) for ``z``'s N * C channels.

    ``dtype`` is the affine's: BatchNorm wants its statistics in the dtype
    of its weight, float32 for float16/bfloat16 input under autocast.
    """
    stats = z.new_zeros(2, z.shape[0] * z.shape[1], dtype=dtype)
    stats[1] = 1
    return stats


class _PerSampleAffine(torch.autograd.Function):
    """``z * scale + shift`` as a frozen BatchNorm over folded channels.

    ``z`` [N, C, H, W] is viewed as one sample with N * C channels, whose
    eval-mode BatchNorm with mean 0, variance 1 and eps 0 is exactly the
    per-sample affine. Forward and backward thus run the same fused
    kernels as the plain block's frozen BatchNorm; the backward yields the
    gradients of ``z``, ``scale`` and ``shift`` in one pass, with no
    temporary the size of ``z``. (Autograd's ``addcmul`` would need a
    product ``grad * z`` for the gradient of ``scale``.) The output is
    written into a fresh [N, C, H, W] tensor rather than returned as a
    view, so that the block may add the shortcut to it in place.
    """

    @staticmethod
    def forward(ctx, z, scale, shift):
        n, c, h, w = z.shape
        stats = _unit_stats(z, scale.dtype)
        out = torch.empty_like(z)
        torch.ops.aten.native_batch_norm.out(
            z.view(1, n * c, h, w), scale.reshape(-1), shift.reshape(-1),
            stats[0], stats[1], False, 0.0, 0.0,
            out=out.view(1, n * c, h, w),
            save_mean=stats.new_empty(0), save_invstd=stats.new_empty(0))
        ctx.save_for_backward(z, scale, stats)
        return out

    @staticmethod
    def backward(ctx, grad):
        z, scale, stats = ctx.saved_tensors
        n, c, h, w = z.shape
        grad_z, grad_scale, grad_shift = (
            torch.ops.aten.native_batch_norm_backward(
                grad.contiguous().view(1, n * c, h, w),
                z.view(1, n * c, h, w), scale.reshape(-1), stats[0],
                stats[1], None, None, False, 0.0, ctx.needs_input_grad))
        if grad_z is not None:
            grad_z = grad_z.view(n, c, h, w)
        if grad_scale is not None:
            grad_scale = grad_scale.view(n, c)
        if grad_shift is not None:
            grad_shift = grad_shift.view(n, c)
        return grad_z, grad_scale, grad_shift


def per_sample_affine(z: Tensor, scale: Tensor, shift: Tensor) -> Tensor:
    """``z * scale + shift`` with one scale and shift per sample and channel.

    Contiguous ``z`` goes through the folded BatchNorm of
    :class:`_PerSampleAffine`, or, when no gradient is wanted, through the
    same kernel called directly (in small feature maps the autograd
    Function's own overhead is a sizable part of the work); others
    (channels-last batches) through ``addcmul``. ``scale`` and ``shift``
    may be float32 for a float16/bfloat16 ``z`` (autocast), as BatchNorm's
    weight and bias may.

    Args:
        z (Tensor): [N, C, H, W].
        scale (Tensor): [N, C].
        shift (Tensor): [N, C].

    Returns:
        Tensor: A new tensor shaped like ``z``, of ``z``'s dtype.
    """
    n, c, h, w = z.shape
    if not z.is_contiguous():
        # Under autocast the float32 factors are rounded to z's dtype first
        # (elementwise kernels compute in float32 and round once): one
        # pass, with no float32 temporary the size of z.
        return torch.addcmul(
            shift.view(n, c, 1, 1).to(z.dtype), z,
            scale.view(n, c, 1, 1).to(z.dtype))
    if torch.is_grad_enabled() and (z.requires_grad or scale.requires_grad
                                    or shift.requires_grad):
        return _PerSampleAffine.apply(z, scale, shift)
    stats = _unit_stats(z, scale.dtype)
    return torch.batch_norm(
        z.view(1, n * c, h, w), scale.reshape(-1), shift.reshape(-1),
        stats[0], stats[1], False, 0.0, 0.0, False).view(n, c, h, w)


def _centred_sums(grad: Tensor, z: Tensor,
                  centre: Tensor) -> Tuple[Tensor, Tensor]:
    """``sum_hw(grad * (z - centre))`` and ``sum_hw(grad)``, both [N, C].

    Where the layout allows, the frozen BatchNorm backward kernel computes
    them over the batch folded into channels, in one pass and without a
    temporary the size of ``z``.
    """
    n, c, h, w = z.shape
    if z.is_contiguous() and grad.is_contiguous():
        _, dot, total = torch.ops.aten.native_batch_norm_backward(
            grad.view(1, n * c, h, w), z.view(1, n * c, h, w), None,
            centre.repeat(n), centre.new_ones(n * c), None, None, False, 0.0,
            [False, True, True])
        return dot.view(n, c), total.view(n, c)
    centred = z - centre.view(1, c, 1, 1)
    return (centred.mul_(grad).sum((2, 3)), grad.sum((2, 3)))


class _ScaledResidual(torch.autograd.Function):
    """``identity + out * attn`` in place in ``out = bn(z)``.

    Autograd's own ``addcmul`` would keep ``out`` for the gradient of
    ``attn``; this keeps ``z`` (which the BatchNorm keeps anyway) and the
    BatchNorm's batch mean and per-channel scale and shift, and gets that
    gradient from them: ``sum_hw(grad * out) == scale * sum_hw(grad *
    (z - mean)) + shift * sum_hw(grad)``, centred on the batch mean so
    that nothing cancels.
    """

    @staticmethod
    def forward(ctx, out, identity, attn, z, mean, scale, shift):
        ctx.mark_dirty(out)
        ctx.save_for_backward(attn, z, mean, scale, shift)
        return torch.addcmul(identity, out, attn, out=out)

    @staticmethod
    def backward(ctx, grad):
        attn, z, mean, scale, shift = ctx.saved_tensors
        grad_out = grad * attn if ctx.needs_input_grad[0] else None
        grad_identity = grad if ctx.needs_input_grad[1] else None
        grad_attn = None
        if ctx.needs_input_grad[2]:
            dot, total = _centred_sums(grad, z, mean)
            grad_attn = (dot * scale + total * shift).view_as(attn).to(
                attn.dtype)
        # z and the statistics only stand in for out: its gradient reaches
        # them through the BatchNorm.
        return grad_out, grad_identity, grad_attn, None, None, None, None


def _batch_norm_train(norm: nn.BatchNorm2d,
                      z: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """``norm(z)`` in training mode, and the batch mean, scale and shift.

    Mirrors ``_BatchNorm.forward`` (running statistics, ``momentum=None``
    as a cumulative average) but calls the kernel that also returns the
    batch mean and inverse std, which the module call discards. The
    output is ``(z - mean) * scale + shift``.
    """
    norm.num_batches_tracked.add_(1)
    momentum = norm.momentum
    if momentum is None:
        momentum = 1.0 / float(norm.num_batches_tracked)
    out, mean, invstd = torch.native_batch_norm(z, norm.weight, norm.bias,
                                                norm.running_mean,
                                                norm.running_var, True,
                                                momentum, norm.eps)
    with torch.no_grad():
        scale = invstd if norm.weight is None else invstd * norm.weight
        shift = (torch.zeros_like(scale)
                 if norm.bias is None else norm.bias.detach())
    return out, mean.detach(), scale, shift


def eca_residual(eca: ECAModule,
                 norm: nn.Module,
                 z: Tensor,
                 identity: Optional[Tensor],
                 z_mean: Optional[Tensor] = None) -> Tensor:
    """``identity + eca(norm(z))``: an ECA block's output before its ReLU.

    With ``identity=None`` (a block without a shortcut, as MobileNetV2's
    first block of a stage) it is ``eca(norm(z))``, which the frozen-norm
    path computes in the norm's one pass as well.

    Args:
        eca (ECAModule): The block's attention.
        norm (nn.Module): The block's last norm (``bn3``/``bn2``).
        z (Tensor): The last convolution's output, [N, C, H, W].
        identity (Tensor, optional): The shortcut, same shape as ``z``,
            or None.
        z_mean (Tensor, optional): ``z.mean((2, 3))`` when the caller can
            get it more cheaply than by pooling ``z``; used only when
            :func:`is_frozen_bn` holds. Defaults to None.

    Returns:
        Tensor: A new tensor (or ``norm(z)`` updated in place).
    """
    if is_frozen_bn(norm, z):
        scale, shift = frozen_bn_affine(norm)
        if z_mean is None:
            z_mean = spatial_mean(z)
        # In z's dtype, as the paper's formulation pools norm(z) (which a
        # BatchNorm returns in its input's dtype, under autocast too).
        pooled = (z_mean * scale + shift).to(z.dtype)
        attn = eca.attention_from_pooled(pooled).flatten(1)
        # One pass normalises and attends: norm(z) * attn ==
        # z * (scale * attn) + shift * attn.
        out = per_sample_affine(z, scale * attn, shift * attn)
        if identity is None:
            return out
        if identity.dtype != out.dtype:  # as the paper's addition promotes
            return out + identity
        return out.add_(identity)
    if identity is None:
        return eca(norm(z))
    if (_plain_bn(norm, z) and type(norm) is nn.BatchNorm2d
            and norm.training and norm.num_batches_tracked is not None
            and torch.is_grad_enabled() and identity.dtype == z.dtype):
        out, mean, scale, shift = _batch_norm_train(norm, z)
        return _ScaledResidual.apply(out, identity, eca.attention(out), z,
                                     mean, scale, shift)
    return eca.forward_residual(norm(z), identity)
