"""SE where this package puts ECA, for the families the benchmark compares.

Each is MMDetection's model with its own ``SELayer`` (global pool, 1x1 conv
to C/r, ReLU, 1x1 conv back, sigmoid, multiply) or, for the CSP
backbones, RTMDet's ``ChannelAttention``, placed where the ECA form has
its ECA. Only the benchmark builds them, so none is registered.
"""
from mmdet.models.backbones import CSPDarknet
from mmdet.models.layers import ChannelAttention, CSPLayer, SELayer
from mmdet.models.necks import FPN
from mmengine.model import ModuleList

from mmdet_eca.backbones import ECAMobileNetV2


class SEPlugin(SELayer):
    """mmdet's ``SELayer`` for a plugin slot (mmcv passes ``in_channels``).

    Args:
        in_channels (int): Channels of the slot.
        ratio (int): Channel reduction. Defaults to 16.
    """
    _abbr_ = 'se'

    def __init__(self, in_channels: int, ratio: int = 16) -> None:
        super().__init__(in_channels, ratio=ratio)


def se_mobilenet_v2(se_ratio: int = 4, **kwargs) -> ECAMobileNetV2:
    """MobileNetV2 with SE where ECAMobileNetV2 has ECA: after the
    projection's BN, before the shortcut.

    It is an ECAMobileNetV2 whose every ``eca`` is an ``SELayer``; the block
    calls a module that is not an ECA as it is, so this is the plain
    ``se(linear_conv(x))``.

    Args:
        se_ratio (int): Channel reduction, MobileNetV3's and EfficientNet's
            4. Defaults to 4.
        **kwargs: Arguments of mmdet's ``MobileNetV2``.
    """
    model = ECAMobileNetV2(**kwargs)
    for module in model.modules():
        if hasattr(module, 'eca') and hasattr(module, 'linear_conv'):
            module.eca = SELayer(module.linear_conv.conv.out_channels,
                                 ratio=se_ratio)
    return model


class SEFPN(FPN):
    """mmdet's FPN with an ``SELayer`` on each output level, where ECAFPN
    has its ECAs.

    Args:
        se_ratio (int): Channel reduction. Defaults to 16.
        **kwargs: Arguments of mmdet's ``FPN``.
    """

    def __init__(self, *args, se_ratio: int = 16, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.se = ModuleList(
            SELayer(self.out_channels, ratio=se_ratio)
            for _ in range(self.num_outs))

    def forward(self, inputs):
        return tuple(se(out) for se, out in zip(self.se,
                                                super().forward(inputs)))


def csp_darknet_with_channel_attention(**kwargs) -> CSPDarknet:
    """YOLOX's CSPDarknet with RTMDet's ``ChannelAttention`` in every CSP
    layer, where ECACSPDarknet has its ECA.

    Args:
        **kwargs: Arguments of mmdet's ``CSPDarknet``.
    """
    model = CSPDarknet(**kwargs)
    for layer in model.modules():
        if isinstance(layer, CSPLayer):
            layer.attention = ChannelAttention(
                layer.final_conv.conv.in_channels)
            layer.channel_attention = True
    return model
