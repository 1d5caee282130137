"""What every ECA block adds to the MMDetection block it extends."""
from ..layers.eca import ECAModule


class ECABlock:
    """Mixin giving an MMDetection block an ECA, as ``self.eca``.

    Listed before the block class (``class ECABasicBlock(ECABlock,
    BasicBlock)``); each block's ``forward`` places the attention. The
    attribute is named ``eca`` because the released weights name it so
    (``layerX.Y.eca.conv.weight``).

    Args:
        *args: The MMDetection block's arguments.
        eca_kernel_size (int): Odd kernel size of the block's ECA.
        eca_identity_init (bool): Whether the ECA starts as the identity
            (:mod:`mmdet_eca.layers.identity_gate`). Defaults to False.
        **kwargs: The MMDetection block's keyword arguments.
    """

    def __init__(self, *args, eca_kernel_size: int,
                 eca_identity_init: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.eca = ECAModule(kernel_size=eca_kernel_size,
                             identity_init=eca_identity_init)
