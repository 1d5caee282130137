"""What every ECA block adds to the MMDetection block it extends."""
from torch import Tensor, nn

from ..layers.eca import ECAModule


class ECABlock:
    """Mixin giving an MMDetection block an ECA, as ``self.eca``.

    Listed before the block class (``class ECABasicBlock(ECABlock,
    BasicBlock)``); each block's ``forward`` places the attention. The
    attribute is named ``eca`` because the released weights name it so
    (``layerX.Y.eca.conv.weight``). The block owns the features it
    attends, so they are scaled in place at inference; a block whose
    next layer is a convolution (``eca_keep_output``) has the ECA keep
    its product for backward instead of its input
    (:mod:`mmdet_eca.layers.eca_scale`).

    Args:
        *args: The MMDetection block's arguments.
        eca_kernel_size (int): Odd kernel size of the block's ECA.
        eca_identity_init (bool): Whether the ECA starts as the identity
            (:mod:`mmdet_eca.layers.identity_gate`). Defaults to False.
        **kwargs: The MMDetection block's keyword arguments.
    """

    eca_keep_output = False

    def __init__(self, *args, eca_kernel_size: int,
                 eca_identity_init: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.eca = ECAModule(kernel_size=eca_kernel_size,
                             identity_init=eca_identity_init, inplace=True,
                             keep_output=self.eca_keep_output)


def eca_tail(eca: nn.Module, norm: nn.Module, z: Tensor) -> Tensor:
    """``eca(norm(z))``, telling an ECA that its input is ``norm(z)``: in
    training it then keeps ``z``, which the norm keeps anyway, instead of
    the normalised features (see :mod:`mmdet_eca.layers.eca_scale`).
    Another attention in the block's slot (an SE, say) gets ``norm(z)``.
    """
    if isinstance(eca, ECAModule):
        return eca(norm(z), (norm, z))
    return eca(norm(z))
