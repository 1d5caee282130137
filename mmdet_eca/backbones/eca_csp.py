"""The real-time detectors' CSP backbones with ECA in every CSP layer.

A CSP layer (``mmdet.models.layers.CSPLayer``) splits its input into a
main path (``main_conv`` and the blocks) and a short path (``short_conv``),
concatenates the two and fuses them with ``final_conv``. RTMDet's
``CSPNeXt`` (Lyu et al., https://arxiv.org/abs/2212.07784) puts a channel
attention on the concatenation, ``ChannelAttention``: global average
pooling, a 1x1 convolution C -> C with bias and a hard sigmoid, C^2 + C
weights per layer. :class:`ECACSPNeXt` has ECA
(https://arxiv.org/abs/1910.03151) in its place, k weights per layer, with
k from the concatenation's C by the paper's adaptive rule. YOLOX's
``CSPDarknet`` (Ge et al., https://arxiv.org/abs/2107.08430) has no
attention; :class:`ECACSPDarknet` adds ECA at the same place.

Everything else is MMDetection's backbone as built, under its own names:
the attention is ``stageN.M.attention`` in both, so a stock checkpoint
loads into the ECA backbones for everything but the attention
(``attention.fc.*`` is not used, ``attention.conv.weight`` keeps its
initialisation).
"""
from typing import Optional

import torch.nn as nn
from mmdet.models.backbones import CSPDarknet, CSPNeXt
from mmdet.models.layers import CSPLayer
from mmdet.registry import MODELS

from ..layers.eca_plugin import ECA


def add_eca_to_csp_layers(module: nn.Module,
                          kernel_size: Optional[int] = None,
                          gamma: float = 2,
                          beta: float = 1,
                          identity_init: bool = False) -> int:
    """Make an ECA the channel attention of every CSP layer in ``module``.

    The ECA attends to the concatenated paths, ``final_conv``'s input,
    where ``CSPLayer(channel_attention=True)`` applies its attention; a
    stock attention there is replaced.

    Args:
        module (nn.Module): A backbone (or any module) holding CSP layers.
        kernel_size (int, optional): A fixed odd ``k``; None takes the
            adaptive ``k`` of each layer's channels. Defaults to None.
        gamma (float): ``gamma`` of the adaptive rule. Defaults to 2.
        beta (float): ``b`` of the adaptive rule. Defaults to 1.
        identity_init (bool): Whether each ECA starts as the identity.
            Defaults to False.

    Returns:
        int: How many CSP layers got an ECA.
    """
    count = 0
    for layer in module.modules():
        if isinstance(layer, CSPLayer):
            channels = layer.final_conv.conv.in_channels
            # the layer owns the concatenation, which final_conv convolves
            # (and keeps) next
            layer.attention = ECA(channels, kernel_size, gamma, beta,
                                  identity_init, inplace=True,
                                  keep_output=True)
            layer.channel_attention = True  # CSPLayer.forward reads it
            count += 1
    return count


@MODELS.register_module()
class ECACSPNeXt(CSPNeXt):
    """RTMDet's CSPNeXt with ECA in place of its channel attention.

    RTMDet-tiny's four CSP layers attend to 48, 96, 192 and 384 channels:
    their ``ChannelAttention`` holds 196,560 weights, ECA with the adaptive
    k (3, 3, 5, 5) holds 16.

    Args:
        channel_attention (bool): Whether the CSP layers have an attention
            (ECA here). RTMDet's configs set it True. Defaults to True.
        eca_kernel_size (int, optional): One odd ``k`` for every layer;
            None takes the adaptive ``k`` of each layer's channels.
            Defaults to None.
        eca_gamma (float): ``gamma`` of the adaptive rule. Defaults to 2.
        eca_beta (float): ``b`` of the adaptive rule. Defaults to 1.
        eca_identity_init (bool): Start every ECA as the identity (gate
            ``2 * sigmoid``, zero weight), for a stock checkpoint: see
            :mod:`mmdet_eca.layers.identity_gate`. Defaults to False.
        **kwargs: Arguments of mmdet's ``CSPNeXt``.
    """

    def __init__(self,
                 channel_attention: bool = True,
                 eca_kernel_size: Optional[int] = None,
                 eca_gamma: float = 2,
                 eca_beta: float = 1,
                 eca_identity_init: bool = False,
                 **kwargs) -> None:
        # Built without the stock attention, which would only be replaced.
        super().__init__(channel_attention=False, **kwargs)
        if channel_attention:
            add_eca_to_csp_layers(self, eca_kernel_size, eca_gamma, eca_beta,
                                  eca_identity_init)

    def train(self, mode: bool = True) -> 'ECACSPNeXt':
        # mmdet's CSPNeXt.train() returns None, which breaks
        # `model.eval()` chains; nn.Module's contract is to return self.
        super().train(mode)
        return self


@MODELS.register_module()
class ECACSPDarknet(CSPDarknet):
    """YOLOX's CSPDarknet with ECA in every CSP layer.

    The ECA sits where RTMDet's CSP layers have their attention: on the
    concatenated paths, before ``final_conv``. YOLOX-s attends to 64, 128,
    256 and 512 channels with k = 3, 5, 5, 5: 18 weights in all.

    Args:
        eca_kernel_size (int, optional): One odd ``k`` for every layer;
            None takes the adaptive ``k`` of each layer's channels.
            Defaults to None.
        eca_gamma (float): ``gamma`` of the adaptive rule. Defaults to 2.
        eca_beta (float): ``b`` of the adaptive rule. Defaults to 1.
        eca_identity_init (bool): Start every ECA as the identity (gate
            ``2 * sigmoid``, zero weight), for a stock checkpoint: see
            :mod:`mmdet_eca.layers.identity_gate`. Defaults to False.
        **kwargs: Arguments of mmdet's ``CSPDarknet``.
    """

    def __init__(self,
                 eca_kernel_size: Optional[int] = None,
                 eca_gamma: float = 2,
                 eca_beta: float = 1,
                 eca_identity_init: bool = False,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        add_eca_to_csp_layers(self, eca_kernel_size, eca_gamma, eca_beta,
                              eca_identity_init)

    def train(self, mode: bool = True) -> 'ECACSPDarknet':
        super().train(mode)  # mmdet's returns None
        return self
