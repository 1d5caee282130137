"""ECA's channel scaling, ``x * gate``, in the form that costs least.

The paper's ``x * gate`` makes a new tensor as large as ``x`` and, in
training, autograd keeps ``x`` for the gate's gradient, ``sum_hw(grad *
x)``: in a residual block a third more activation memory. Where the owner
of the attention knows more, the same values cost less, with public torch
operations only, so that every form means the same on every device:

* **inference** (autograd does not track the product) with
  ``inplace=True``: ``x`` is scaled in place, no new tensor;
* **training, keep the output** (``keep_output=True``, for an attention
  whose next layer keeps the product anyway, a convolution reading it):
  :class:`_KeepOutput` keeps the product ``y`` instead of ``x``; with
  ``s = sigmoid(logits)`` and the gate ``s`` or ``2 * s`` (identity mode),
  ``dy/dlogits = y * (1 - s)`` in both cases, so nothing else is needed;
* **training, keep the norm's input** (a residual block's tail, ``x =
  bn(z)``, passed as ``norm_input``): :class:`_KeepNormInput` keeps ``z``,
  which the BatchNorm keeps for its own backward, and recomputes ``x``
  from it in backward (one more norm pass there).

Anything else, and whenever a tracer, exporter or compiler records the
model (``torch.jit``, both ONNX exporters, ``torch.fx``, ``torch.compile``,
``torch.export``), takes the paper's ``x * gate``: a recorded graph holds
only standard operations, which its compilers fuse anyway. The forms
differ only in rounding (tests/test_layers/test_eca_forms.py holds them to
the paper's in float64, values and gradients).
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from ..compat import is_compiling, is_fx_tracing, is_onnx_exporting

# Floating types whose sums over a feature map can leave the type's range
# (float16) or lose most of their digits (bfloat16): summed in float32.
LOW_PRECISION = (torch.float16, torch.bfloat16)


def is_recording() -> bool:
    """Whether a tracer, exporter or compiler is recording the model.

    True under ``torch.jit.trace``/``torch.jit.script``, both ONNX
    exporters (``torch.onnx.export`` with ``dynamo=False`` or ``True``),
    ``torch.fx.symbolic_trace``, ``torch.compile`` and ``torch.export``.
    """
    return (torch.jit.is_scripting() or torch.jit.is_tracing()
            or is_compiling() or is_fx_tracing() or is_onnx_exporting())


def spatial_sum(t: Tensor) -> Tensor:
    """``t.sum((2, 3))``, in float32 for float16 and bfloat16 ``t``."""
    dtype = torch.float32 if t.dtype in LOW_PRECISION else None
    return t.sum((2, 3), dtype=dtype)


class _KeepOutput(torch.autograd.Function):
    """``y = x * gate(logits)`` keeping ``y``, not ``x``, for backward."""

    @staticmethod
    def forward(ctx, x: Tensor, logits: Tensor, doubled: bool) -> Tensor:
        sig = logits.sigmoid()
        gate = 2 * sig if doubled else sig
        y = x * gate[:, :, None, None]
        ctx.save_for_backward(y, sig, gate)
        return y

    @staticmethod
    def backward(ctx, grad: Tensor):
        y, sig, gate = ctx.saved_tensors
        grad_x = grad_logits = None
        if ctx.needs_input_grad[0]:
            grad_x = grad * gate[:, :, None, None]
        if ctx.needs_input_grad[1]:
            grad_logits = (spatial_sum(grad * y) * (1 - sig)).to(sig.dtype)
        return grad_x, grad_logits, None


class _KeepNormInput(torch.autograd.Function):
    """``x * gate`` for ``x = batch_norm(z)``, keeping ``z`` for backward.

    ``stats`` are the norm's running mean and variance when it normalised
    with them, or None for batch statistics, which the recomputation
    derives from ``z`` again exactly as the forward did.
    """

    @staticmethod
    def forward(ctx, x, gate, z, weight, bias, mean, var, eps):
        ctx.save_for_backward(gate, z, weight, bias, mean, var)
        ctx.eps = eps
        return x * gate[:, :, None, None]

    @staticmethod
    def backward(ctx, grad):
        gate, z, weight, bias, mean, var = ctx.saved_tensors
        grad_x = grad_gate = None
        if ctx.needs_input_grad[0]:
            grad_x = grad * gate[:, :, None, None]
        if ctx.needs_input_grad[1]:
            x = F.batch_norm(z, mean, var, weight, bias, mean is None, 0.0,
                             ctx.eps)
            grad_gate = spatial_sum(x.mul_(grad)).to(gate.dtype)
        return grad_x, grad_gate, None, None, None, None, None, None


def _batch_norm_parts(norm: nn.Module):
    """``(weight, bias, mean, var, eps)`` with which ``norm(z)`` is
    ``F.batch_norm(z, mean, var, weight, bias, mean is None, 0, eps)``, or
    None when that cannot be said: not a plain BatchNorm (exact types: a
    subclass may override ``forward``), or a SyncBatchNorm in training,
    whose statistics span processes."""
    if type(norm) not in (nn.BatchNorm2d, nn.SyncBatchNorm):
        return None
    batch_stats = norm.training or norm.running_mean is None
    if batch_stats and type(norm) is nn.SyncBatchNorm:
        return None
    mean, var = (None, None) if batch_stats else (norm.running_mean,
                                                  norm.running_var)

    def detached(t):
        return None if t is None else t.detach()

    return (detached(norm.weight), detached(norm.bias), mean, var, norm.eps)


def channel_scale(eca: nn.Module,
                  x: Tensor,
                  logits: Tensor,
                  norm_input: Optional[Tuple[nn.Module, Tensor]] = None
                  ) -> Tensor:
    """``x * eca.gate(logits)`` per sample and channel, in the cheapest
    form that ``eca``'s flags and ``norm_input`` allow (see the module
    docstring).

    Args:
        eca (nn.Module): The :class:`~.eca.ECAModule` computing it.
        x (Tensor): [N, C, H, W].
        logits (Tensor): [N, C], the 1-D convolution's output.
        norm_input (tuple, optional): ``(norm, z)`` with ``x == norm(z)``.
            Defaults to None.

    Returns:
        Tensor: The scaled ``x``.
    """
    # is_recording() first: fx proxies have no real requires_grad, and
    # torch 2.1's dynamo refuses type() on a tensor
    if is_recording() or type(x) is not Tensor:
        return x * eca.gate(logits)[:, :, None, None]
    tracked = torch.is_grad_enabled() and (x.requires_grad
                                           or logits.requires_grad)
    if not tracked:
        gate = eca.gate(logits)[:, :, None, None]
        return x.mul_(gate) if eca.inplace and x.dtype == torch.promote_types(
            x.dtype, gate.dtype) else x * gate
    if eca.keep_output:
        return _KeepOutput.apply(x, logits, eca.identity_init)
    parts = None if norm_input is None else _batch_norm_parts(norm_input[0])
    if parts is not None:
        return _KeepNormInput.apply(x, eca.gate(logits), norm_input[1],
                                    *parts)
    return x * eca.gate(logits)[:, :, None, None]
