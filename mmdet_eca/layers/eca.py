"""Efficient Channel Attention (ECA).

Paper: "ECA-Net: Efficient Channel Attention for Deep Convolutional Neural
Networks", Wang et al., CVPR 2020, https://arxiv.org/abs/1910.03151.
Reference implementation: https://github.com/BangguWu/ECANet (MIT licence).
This is an independent implementation of the paper's formulation.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from .eca_scale import channel_scale, is_recording, spatial_sum
from .identity_gate import check_gate, record_gate
from .kernel_sizes import check_kernel_size, eca_kernel_size
from ..compat import (MEAN_KEEPS_ITS_INPUT, register_load_state_dict_pre_hook,
                      register_state_dict_post_hook)


class ECAModule(nn.Module):
    """Efficient Channel Attention (Wang et al., CVPR 2020).

    Global average pooling over H, W, then a 1-D convolution of kernel ``k``
    across the channel axis (no bias, zero padding), then a sigmoid; the
    input is multiplied channel-wise by the result. The only parameter is
    ``conv.weight`` of shape ``[1, 1, k]``, the name the released weights
    use for it (``...eca.conv.weight``).

    The multiplication may take a cheaper form that computes the same
    values (:mod:`.eca_scale`): in place at inference (``inplace``), and in
    training keeping for backward what the network keeps anyway
    (``keep_output``, or the ``norm_input`` a block passes). Every form is
    a call of this module, so its hooks see every ECA.

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
        inplace (bool): When autograd does not track the product
            (inference), scale the input in place instead of making a
            scaled copy, as ``ReLU(inplace=True)`` does. Only for an owner
            whose input nothing else reads afterwards. Defaults to False.
        keep_output (bool): In training, keep the product for backward
            instead of the input, which is then freed. Only for an owner
            whose next layer keeps the product anyway and never changes it
            in place (a convolution reading it: a neck's levels, the
            projection after EfficientNet's ECA); an in-place change makes
            autograd raise, never a silent error. Defaults to False.
    """

    def __init__(self,
                 channels: Optional[int] = None,
                 kernel_size: Optional[int] = None,
                 gamma: float = 2,
                 beta: float = 1,
                 identity_init: bool = False,
                 inplace: bool = False,
                 keep_output: bool = False) -> None:
        super().__init__()
        if kernel_size is None:
            if channels is None:
                raise ValueError(
                    'ECAModule needs either kernel_size or channels')
            kernel_size = eca_kernel_size(channels, gamma, beta)
        self.kernel_size = check_kernel_size(kernel_size)
        self.identity_init = bool(identity_init)
        self.inplace = bool(inplace)
        self.keep_output = bool(keep_output)
        # An identity-mode weight is zeroed anyway: built without drawing
        # from the global generator, the network's other layers get the
        # random initialisation they get without ECA under the same seed.
        with torch.random.fork_rng(devices=[], enabled=self.identity_init):
            self.conv = nn.Conv1d(
                1, 1, kernel_size, padding=(kernel_size - 1) // 2, bias=False)
        if self.identity_init:
            nn.init.zeros_(self.conv.weight)
        register_state_dict_post_hook(self, record_gate)
        register_load_state_dict_pre_hook(self, check_gate)

    def init_weights(self) -> None:
        """Zero the weight again in identity mode.

        MMEngine's ``init_weights`` applies a parent's ``init_cfg`` (a
        whole-module ``Normal``, say) before its children's
        ``init_weights`` and before any ``Pretrained`` loading, so this
        keeps the start at identity whatever the parent initialises.
        """
        if self.identity_init:
            nn.init.zeros_(self.conv.weight)

    def logits(self, x: Tensor) -> Tensor:
        """The 1-D convolution over the pooled channels of ``x``
        [N, C, H, W], shape [N, C]. ``mean`` accumulates float16 and
        bfloat16 in float32, so large maps do not overflow."""
        if MEAN_KEEPS_ITS_INPUT and not is_recording():
            # the same mean whose backward keeps only the size (a traced
            # size would be frozen: recorded models take mean itself)
            pooled = (spatial_sum(x) / (x.shape[2] * x.shape[3])).to(x.dtype)
        else:
            pooled = x.mean((2, 3))
        y = self.conv(pooled.unsqueeze(1))  # [N, 1, C]
        return y.view(x.shape[0], x.shape[1])

    def gate(self, logits: Tensor) -> Tensor:
        """The channel weights from :meth:`logits`: ``sigmoid`` (the paper),
        or ``2 * sigmoid`` in identity mode, exactly 1 at the zero weight.
        """
        if self.identity_init:
            return 2 * logits.sigmoid()
        return logits.sigmoid()

    def attention(self, x: Tensor) -> Tensor:
        """The channel weights of ``x`` [N, C, H, W], shape [N, C, 1, 1]
        (for looking at what the attention does; ``forward`` applies them).
        """
        return self.gate(self.logits(x))[:, :, None, None]

    def forward(self,
                x: Tensor,
                norm_input: Optional[Tuple[nn.Module, Tensor]] = None
                ) -> Tensor:
        """``x * gate(conv1d(mean_hw(x)))``, the paper's ECA.

        Args:
            x (Tensor): [N, C, H, W].
            norm_input (tuple, optional): ``(norm, z)`` when ``x`` is
                ``norm(z)``: in training a BatchNorm's ``z`` (which the
                norm keeps for its own backward) is kept instead of ``x``
                and ``x`` is recomputed from it in backward. Defaults to
                None.

        Returns:
            Tensor: ``x`` scaled per sample and channel.
        """
        return channel_scale(self, x, self.logits(x), norm_input)

    def extra_repr(self) -> str:
        flags = [f'kernel_size={self.kernel_size}']
        flags += [name + '=True' for name in
                  ('identity_init', 'inplace', 'keep_output')
                  if getattr(self, name)]
        return ', '.join(flags)
