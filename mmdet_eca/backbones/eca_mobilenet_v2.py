"""MobileNetV2 with Efficient Channel Attention in every inverted residual.

The backbone subclasses MMDetection's ``MobileNetV2`` and changes only the
block it stacks: each inverted residual ends with an ECA (after the
pointwise-linear BN, before the residual addition), as in ECA-Net
(https://arxiv.org/abs/1910.03151). Module names stay mmdet's
(``layerS.J.{expand_conv,depthwise_conv,linear_conv}``) plus
``layerS.J.eca.conv.weight``. The official release names the same tensors
``features.N.conv.*``; loading renames them (see ``prepare_state_dict``),
so its ``eca_mobilenetv2_k13.pth.tar`` works as ``init_cfg`` unconverted.
"""

import torch.nn as nn
from mmdet.models.backbones.mobilenet_v2 import MobileNetV2
from mmdet.models.layers import InvertedResidual
from mmdet.models.utils import make_divisible
from mmdet.registry import MODELS
from torch import Tensor

from ..layers.activation_checkpoint import maybe_checkpoint
from ..layers.kernel_sizes import (KernelSizes, check_checkpoint_kernel_sizes,
                                   parse_kernel_sizes)
from .official_keys import (convert_official_mobilenet_v2,
                            is_official_mobilenet_v2)
from .eca_block import ECABlock, eca_tail
from .plain_load import note_plain_weights, report_plain_weights
from .rename_keys import add_prepare_hook, rename_under_prefix


class ECAInvertedResidual(ECABlock, InvertedResidual):
    """mmdet's ``InvertedResidual`` with ECA after ``linear_conv``.

    Args:
        eca_kernel_size (int): Odd kernel size of the block's ECA.
        **kwargs: Arguments of mmdet's ``InvertedResidual``.
    """

    def forward(self, x: Tensor) -> Tensor:

        def _inner_forward(x):
            out = self.expand_conv(x) if self.with_expand_conv else x
            out = self.depthwise_conv(out)
            if self.with_se:
                out = self.se(out)
            out = self._project(out)
            if self.with_res_shortcut:
                return x + self.drop_path(out)
            return out

        return maybe_checkpoint(_inner_forward, x, self.with_cp)

    def _project(self, x: Tensor) -> Tensor:
        """``eca(linear_conv(x))``, telling the ECA that its input is the
        projection's norm of its conv's output (``eca_tail``), where the
        projection is the plain conv-then-norm ConvModule mmdet builds."""
        proj = self.linear_conv
        if (proj.with_norm and not proj.with_activation
                and not proj.with_explicit_padding
                and tuple(proj.order[:2]) == ('conv', 'norm')):
            return eca_tail(self.eca, proj.norm, proj.conv(x))
        return self.eca(proj(x))


@MODELS.register_module()
class ECAMobileNetV2(MobileNetV2):
    """MobileNetV2 with Efficient Channel Attention (ECA-Net).

    All of mmdet's ``MobileNetV2`` arguments keep their meaning; ECA adds a
    ``[1, 1, k]`` weight to each of the 17 inverted residuals, with one
    ``k`` per stage (``layer1`` .. ``layer7``).

    Args:
        eca_kernel_sizes (str | Sequence[int], optional): Kernel size of each
            stage's ECA: seven odd ints, a digit string like ``'1111333'``,
            or ``'adaptive'`` for the paper's rule on each stage's output
            channels. None takes the released ``eca_mobilenetv2_k13``
            weights' sizes, ``'1111333'``. Defaults to None.
        eca_gamma (float): ``gamma`` of the adaptive rule. Defaults to 2.
        eca_beta (float): ``b`` of the adaptive rule. Defaults to 1.
        eca_identity_init (bool): Start every ECA as the identity (gate
            ``2 * sigmoid``, zero weight), for plain-pretrained weights:
            see :mod:`mmdet_eca.layers.identity_gate`. Defaults to False
            (the paper's ECA, which ECA-pretrained weights need).
        **kwargs: Arguments of mmdet's ``MobileNetV2``.
    """

    # The release's rule is k = 1 for blocks with fewer than 96 output
    # channels and k = 3 otherwise, stated on the unscaled channels of the
    # (t, c, n, s) table. Its first code said "<= 96", which does not load
    # the released file (BangguWu/ECANet pull request #32).
    official_kernel_sizes = ''.join(
        '1' if c < 96 else '3' for _, c, _, _ in MobileNetV2.arch_settings)

    def __init__(self,
                 eca_kernel_sizes: KernelSizes = None,
                 eca_gamma: float = 2,
                 eca_beta: float = 1,
                 eca_identity_init: bool = False,
                 **kwargs) -> None:
        self.eca_identity_init = eca_identity_init
        if eca_kernel_sizes is None:
            eca_kernel_sizes = self.official_kernel_sizes
        widen_factor = kwargs.get('widen_factor', 1.)
        stage_channels = [
            make_divisible(c * widen_factor, 8)
            for _, c, _, _ in self.arch_settings
        ]
        self.eca_kernel_sizes = parse_kernel_sizes(eca_kernel_sizes,
                                                   stage_channels, eca_gamma,
                                                   eca_beta)
        super().__init__(**kwargs)
        add_prepare_hook(self)
        self.register_load_state_dict_post_hook(report_plain_weights)

    def make_layer(self, out_channels: int, num_blocks: int, stride: int,
                   expand_ratio: int) -> nn.Sequential:
        """One stage of :class:`ECAInvertedResidual` blocks.

        mmdet's ``make_layer`` names its block class inline, so the stage is
        rebuilt here with the same arguments plus the stage's ECA kernel.

        Args:
            out_channels (int): Output channels of every block.
            num_blocks (int): Number of blocks.
            stride (int): Stride of the first block.
            expand_ratio (int): Hidden channels are ``in * expand_ratio``.

        Returns:
            nn.Sequential: The stage.
        """
        # MobileNetV2 appends each stage's name to `layers` after building
        # it, so its length is the index of the stage being built.
        kernel_size = self.eca_kernel_sizes[len(self.layers)]
        blocks = []
        for i in range(num_blocks):
            blocks.append(
                ECAInvertedResidual(
                    self.in_channels,
                    out_channels,
                    mid_channels=int(round(self.in_channels * expand_ratio)),
                    stride=stride if i == 0 else 1,
                    with_expand_conv=expand_ratio != 1,
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg,
                    act_cfg=self.act_cfg,
                    with_cp=self.with_cp,
                    eca_kernel_size=kernel_size,
                    eca_identity_init=self.eca_identity_init))
            self.in_channels = out_channels
        return nn.Sequential(*blocks)

    def train(self, mode: bool = True) -> 'ECAMobileNetV2':
        # mmdet's MobileNetV2.train() returns None, which breaks
        # `model.eval()` chains; nn.Module's contract is to return self.
        super().train(mode)
        return self

    def prepare_state_dict(self, state_dict, prefix: str) -> None:
        """Rename the release's ``features.N.conv.*`` under ``prefix``
        (so that init_cfg can point at the unconverted .pth.tar) and check
        the kernel sizes, before this backbone loads them."""
        rename_under_prefix(state_dict, prefix, is_official_mobilenet_v2,
                            convert_official_mobilenet_v2)
        check_checkpoint_kernel_sizes(state_dict, prefix,
                                      self.eca_kernel_sizes)
        note_plain_weights(self, state_dict, prefix)
