"""Feature pyramids with ECA on every output level.

The attention goes on what the heads read: each level the neck returns
(the extra levels of RetinaNet's P6/P7 or Mask R-CNN's max-pooled P6
included) gets its own ECA (https://arxiv.org/abs/1910.03151), with the
adaptive kernel of the neck's ``out_channels`` (256: k = 5). The pyramid
itself is MMDetection's, under its own names, so stock neck weights load
(``neck.eca.<level>.conv.weight`` keeps its initialisation).
"""
from typing import Optional, Tuple

from mmdet.models.necks import FPN, PAFPN
from mmdet.registry import MODELS
from mmengine.model import ModuleList
from torch import Tensor

from ..layers.eca_plugin import ECA


class ECAOutputs:
    """Mixin giving a pyramid neck one ECA per output level, as ``eca``.

    Listed before the neck class (``class ECAFPN(ECAOutputs, FPN)``); the
    neck must have ``out_channels`` and ``num_outs``.

    Args:
        *args: The neck's arguments.
        eca_kernel_size (int, optional): One odd ``k`` for every level;
            None takes the adaptive ``k`` of ``out_channels``.
            Defaults to None.
        eca_gamma (float): ``gamma`` of the adaptive rule. Defaults to 2.
        eca_beta (float): ``b`` of the adaptive rule. Defaults to 1.
        eca_identity_init (bool): Start every ECA as the identity, so that
            stock FPN/PAFPN weights give the stock neck's outputs at the
            first step. Defaults to False.
        **kwargs: The neck's keyword arguments.
    """

    def __init__(self,
                 *args,
                 eca_kernel_size: Optional[int] = None,
                 eca_gamma: float = 2,
                 eca_beta: float = 1,
                 eca_identity_init: bool = False,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # MMEngine's ModuleList (same state dict as torch's) passes
        # init_weights on to the ECAs, which keeps identity mode's zero
        # weight whatever the neck's init_cfg does.
        # The heads only convolve the levels: scaled in place at inference,
        # and in training the unscaled ones are not kept for backward.
        self.eca = ModuleList(
            ECA(self.out_channels, eca_kernel_size, eca_gamma, eca_beta,
                eca_identity_init, inplace=True, keep_output=True)
            for _ in range(self.num_outs))

    def forward(self, inputs: Tuple[Tensor, ...]) -> Tuple[Tensor, ...]:
        outs = super().forward(inputs)
        return tuple(eca(out) for eca, out in zip(self.eca, outs))


@MODELS.register_module()
class ECAFPN(ECAOutputs, FPN):
    """MMDetection's FPN with ECA on each output level.

    Args:
        eca_kernel_size (int, optional): See :class:`ECAOutputs`.
        eca_gamma (float): See :class:`ECAOutputs`.
        eca_beta (float): See :class:`ECAOutputs`.
        eca_identity_init (bool): See :class:`ECAOutputs`.
        **kwargs: Arguments of mmdet's ``FPN``.
    """


@MODELS.register_module()
class ECAPAFPN(ECAOutputs, PAFPN):
    """MMDetection's PAFPN (Path Aggregation Network) with ECA on each
    output level, after the bottom-up path.

    Args:
        eca_kernel_size (int, optional): See :class:`ECAOutputs`.
        eca_gamma (float): See :class:`ECAOutputs`.
        eca_beta (float): See :class:`ECAOutputs`.
        eca_identity_init (bool): See :class:`ECAOutputs`.
        **kwargs: Arguments of mmdet's ``PAFPN``.
    """
