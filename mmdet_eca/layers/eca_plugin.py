"""ECA as a layer that MMDetection configs place: plugin slots, necks and
CSP layers.

MMDetection's ResNet-family backbones build their ``plugins`` with mmcv's
``build_plugin_layer``, which looks the type up in the registry of the
default scope (``mmdet``'s ``MODELS``), passes the slot's width as
``in_channels`` and names the module after the class's ``_abbr_``. So

.. code-block:: python

    backbone=dict(
        type='ResNeXt', depth=101, groups=32, base_width=4,
        plugins=[dict(cfg=dict(type='ECA', inplace=True),
                      position='after_conv3')])

puts an ECA, named ``eca``, after ``norm3`` of every bottleneck: its weight
is ``layerX.Y.eca.conv.weight``, the name the released ECA-Net weights and
:class:`~mmdet_eca.backbones.ECAResNet` give it. Per-stage kernel sizes
are one entry per stage, each with a ``stages`` mask and its own
``kernel_size``. ``inplace=True`` scales the slot's features in place at
inference, which the slots of these blocks allow.
"""
from typing import List, Optional, Sequence

from mmdet.registry import MODELS
from .eca import ECAModule


@MODELS.register_module()
class ECA(ECAModule):
    """Efficient Channel Attention (https://arxiv.org/abs/1910.03151) for
    MMDetection's plugin slots, necks and CSP layers.

    The same module as :class:`ECAModule` (its ``conv.weight`` of shape
    ``[1, 1, k]`` is the only parameter), taking the channel count as
    ``in_channels``, the argument name mmcv's ``build_plugin_layer`` uses.

    Args:
        in_channels (int): Channels of the attended features; the plugin
            slot passes it. With ``kernel_size=None`` it sets ``k`` by the
            paper's adaptive rule (256 channels: 5, 2048: 7).
        kernel_size (int, optional): A fixed odd ``k`` instead of the
            adaptive one. Defaults to None.
        gamma (float): ``gamma`` of the adaptive rule. Defaults to 2.
        beta (float): ``b`` of the adaptive rule. Defaults to 1.
        identity_init (bool): Start as the identity (gate ``2 * sigmoid``,
            zero weight), for a backbone pretrained without ECA; see
            :mod:`.identity_gate`. Defaults to False (the paper's ECA).
        inplace (bool): At inference (when autograd does not track the
            input), scale the input in place instead of making a scaled
            copy, as ``ReLU(inplace=True)`` does. Safe where nothing else
            reads the input afterwards: every plugin slot of MMDetection's
            ResNet-family blocks. Training is unaffected. Defaults to False.
        keep_output (bool): In training, keep the product instead of the
            input for backward; only where the next layer keeps the product
            and never changes it in place (a neck's levels, a CSP layer's
            final conv; not the ``after_conv3`` slot, whose output the block
            adds to in place). Defaults to False.
    """

    # build_plugin_layer names the module `_abbr_` + postfix: `eca`, as in
    # the released weights' `layerX.Y.eca.conv.weight`.
    _abbr_ = 'eca'

    def __init__(self,
                 in_channels: int,
                 kernel_size: Optional[int] = None,
                 gamma: float = 2,
                 beta: float = 1,
                 identity_init: bool = False,
                 inplace: bool = False,
                 keep_output: bool = False) -> None:
        super().__init__(in_channels, kernel_size, gamma, beta,
                         identity_init, inplace, keep_output)
        self.in_channels = in_channels

    def extra_repr(self) -> str:
        return f'in_channels={self.in_channels}, ' + super().extra_repr()


def eca_plugins(kernel_sizes: Sequence[Optional[int]],
                position: str = 'after_conv3',
                inplace: bool = True) -> List[dict]:
    """A backbone's ``plugins`` list with one ECA per stage and kernel size.

    ``eca_plugins((3, 5, 5, 7))`` is the ECA of ``eca_resnet50_k3557`` as
    plugins of a stock ``ResNet``: four entries, each with a ``stages`` mask
    selecting its stage. None in a stage takes the adaptive ``k`` of that
    stage's channels.

    Args:
        kernel_sizes (Sequence[int | None]): One odd kernel size (or None)
            per stage.
        position (str): The slot. Defaults to ``'after_conv3'``, ECA's
            place in a bottleneck.
        inplace (bool): :class:`ECA`'s ``inplace``, safe in the ResNet
            family's slots. Defaults to True.

    Returns:
        list[dict]: The ``plugins`` value.
    """
    stages = len(kernel_sizes)
    return [
        dict(cfg=dict(type='ECA', kernel_size=k, inplace=inplace),
             stages=tuple(i == s for i in range(stages)),
             position=position) for s, k in enumerate(kernel_sizes)
    ]
