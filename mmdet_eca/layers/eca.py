"""Efficient Channel Attention (ECA).

Paper: "ECA-Net: Efficient Channel Attention for Deep Convolutional Neural
Networks", Wang et al., CVPR 2020, https://arxiv.org/abs/1910.03151.
Reference implementation: https://github.com/BangguWu/ECANet (MIT licence).
This is an independent implementation of the paper's formulation.
"""
from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

from .execution_mode import fused_eca_allowed, has_hooks
from .identity_gate import check_gate, record_gate
from .kernel_sizes import check_kernel_size, eca_kernel_size

# Floating types whose sums over a feature map can leave the type's range
# (float16) or lose most of their digits (bfloat16).
LOW_PRECISION = (torch.float16, torch.bfloat16)


def spatial_mean(x: Tensor) -> Tensor:
    """``x.mean((2, 3))`` whose backward allocates nothing the size of ``x``.

    ``mean``'s backward materialises the broadcast gradient as a new
    [N, C, H, W] tensor; ``sum``'s returns it as a broadcast view, which
    autograd adds into ``x``'s gradient in place. Same values as ``mean``.
    In float16 and bfloat16 the sum is taken in float32: in the input's
    dtype, fp16's largest value, 65,504, is passed by a 200 x 336 map of
    mean 1 (ResNet stage 1 at 800 x 1344), and bf16 keeps 8 bits of it.
    While the model is recorded (:mod:`.execution_mode`) it is ``mean``
    too, one standard operation that does not hold the recorded size.

    Args:
        x (Tensor): [N, C, H, W].

    Returns:
        Tensor: [N, C].
    """
    if not fused_eca_allowed(x):
        return x.mean((2, 3))
    if x.dtype in LOW_PRECISION:
        # Not ``mean``: on torch 2.1 its low-precision backward keeps x,
        # which the fused residual then overwrites in place.
        return (x.sum((2, 3), dtype=torch.float32) /
                (x.shape[2] * x.shape[3])).to(x.dtype)
    return x.sum((2, 3)) / (x.shape[2] * x.shape[3])


class _ScaleSavingOutput(torch.autograd.Function):
    """``y = x * gate(logits)`` that keeps ``y``, not ``x``, for backward.

    With ``s = sigmoid(logits)`` and the gate ``s`` (the paper) or ``2 * s``
    (identity mode), ``dy/dlogits = y * (1 - s)`` in both cases, so the
    logits' gradient is ``sum_hw(grad * y) * (1 - s)``: exact, with no
    division, and ``x`` need not outlive the forward.
    """

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
        grad_x = grad * gate[:, :, None, None]
        # float32 sums in float16/bfloat16, as spatial_mean pools
        dtype = torch.float32 if y.dtype in LOW_PRECISION else None
        grad_logits = (grad * y).sum((2, 3), dtype=dtype) * (1 - sig)
        return grad_x, grad_logits.to(sig.dtype), None


class ECAModule(nn.Module):
    """Efficient Channel Attention (Wang et al., CVPR 2020).

    Global average pooling over H, W, then a 1-D convolution of kernel ``k``
    across the channel axis (no bias, zero padding), then a sigmoid; the
    input is multiplied channel-wise by the result. The only parameter is
    ``conv.weight`` of shape ``[1, 1, k]``, the name the released weights
    use for it (``...eca.conv.weight``).

    Args:
        channels (int, optional): Number of input channels. Only needed
            when ``kernel_size`` is None (adaptive). Defaults to None.
        kernel_size (int, optional): Odd kernel size ``k``. None derives it
            from ``channels`` with :func:`eca_kernel_size`. Defaults to None.
        gamma (float): ``gamma`` of the adaptive rule. Defaults to 2.
        beta (float): ``b`` of the adaptive rule. Defaults to 1.
        identity_init (bool): Start as the identity, for insertion into a
            network pretrained without ECA: the gate is ``2 * sigmoid``
            and ``conv.weight`` starts at zero, so every channel is scaled
            by exactly 1 until training moves the weight
            (:mod:`.identity_gate`). False is the paper's ECA, which the
            released weights were trained with. Defaults to False.
    """

    def __init__(self,
                 channels: Optional[int] = None,
                 kernel_size: Optional[int] = None,
                 gamma: float = 2,
                 beta: float = 1,
                 identity_init: bool = False) -> None:
        super().__init__()
        if kernel_size is None:
            if channels is None:
                raise ValueError(
                    'ECAModule needs either kernel_size or channels')
            kernel_size = eca_kernel_size(channels, gamma, beta)
        self.kernel_size = check_kernel_size(kernel_size)
        self.identity_init = bool(identity_init)
        # An identity-mode weight is zeroed anyway: built without drawing
        # from the global generator, the network's other layers get the
        # random initialisation they get without ECA under the same seed.
        with torch.random.fork_rng(devices=[], enabled=self.identity_init):
            self.conv = nn.Conv1d(
                1, 1, kernel_size, padding=(kernel_size - 1) // 2, bias=False)
        if self.identity_init:
            nn.init.zeros_(self.conv.weight)
        self._register_state_dict_hook(record_gate)
        self._register_load_state_dict_pre_hook(check_gate, with_module=True)

    def init_weights(self) -> None:
        """Zero the weight again in identity mode.

        MMEngine's ``init_weights`` applies a parent's ``init_cfg`` (a
        whole-module ``Normal``, say) before its children's
        ``init_weights`` and before any ``Pretrained`` loading, so this
        keeps the start at identity whatever the parent initialises.
        """
        if self.identity_init:
            nn.init.zeros_(self.conv.weight)

    def gate(self, logits: Tensor) -> Tensor:
        """The channel weights from the convolution's output ``logits``:
        ``sigmoid`` (the paper), or ``2 * sigmoid`` in identity mode, which
        is exactly 1 at the zero-initialised weight."""
        if self.identity_init:
            return 2 * logits.sigmoid()
        return logits.sigmoid()

    def attention(self, x: Tensor) -> Tensor:
        """Channel weights of ``x`` [N, C, H, W], shape [N, C, 1, 1]."""
        return self.attention_from_pooled(spatial_mean(x))

    def attention_from_pooled(self, pooled: Tensor) -> Tensor:
        """Channel weights from the pooled descriptor ``pooled`` [N, C].

        Split from :meth:`attention` so that a caller which can get the
        channel means more cheaply than by pooling the full feature map
        (see :mod:`mmdet_eca.layers.eca_residual`) skips that pass.

        Args:
            pooled (Tensor): Channel means of the attended features.

        Returns:
            Tensor: Weights in (0, 1) (identity mode: (0, 2)) of shape
            [N, C, 1, 1].
        """
        y = self.conv(pooled.unsqueeze(1))  # [N, 1, C]
        return self.gate(y).view(pooled.size(0), pooled.size(1), 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.attention(x)

    def forward_owned(self, x: Tensor) -> Tensor:
        """``self(x)``, written into ``x`` when autograd does not track it.

        For a caller that owns ``x``, which nothing else reads afterwards
        (a plugin slot's features, ``ECA(inplace=True)``): at inference the
        scaled copy, a new tensor as large as ``x``, is not made.
        """
        if x.requires_grad or not fused_eca_allowed(x):
            return x * self.attention(x)
        return x.mul_(self.attention(x))

    def forward_output(self, x: Tensor) -> Tensor:
        """``self(x)`` for features the caller returns as its output.

        At inference as :meth:`forward_owned`. In training the product is
        saved for backward instead of ``x``, which is then freed, since
        the attention's gradient can be had from the product (see
        :class:`_ScaleSavingOutput`): the attended output costs no more
        memory than the plain one. Only for outputs that later layers read
        without changing in place (a neck's levels, which the heads
        convolve); an in-place change would make autograd raise.
        """
        if has_hooks(self):  # a FLOP counter's, say: called as a module
            return self(x)
        if (not x.requires_grad or not torch.is_grad_enabled()
                or not fused_eca_allowed(x)):
            return self.forward_owned(x)
        logits = self.conv(spatial_mean(x).unsqueeze(1)).view(x.shape[:2])
        return _ScaleSavingOutput.apply(x, logits, self.identity_init)

    def forward_residual(self, x: Tensor, identity: Tensor) -> Tensor:
        """``identity + self(x)`` in one pass over memory.

        A residual block adds the attended features to its shortcut anyway,
        so the channel scaling is fused into that addition rather than
        written out as a separate tensor first.
        """
        return torch.addcmul(identity, x, self.attention(x))

    def extra_repr(self) -> str:
        identity = ', identity_init=True' if self.identity_init else ''
        return f'kernel_size={self.kernel_size}' + identity
