"""EfficientNet without attention, the study's third EfficientNet-B0.

MMDetection's ``EfficientNet`` builds an SE layer in a block exactly when
the block's ``se_ratio`` setting is positive (its edge-TPU archs have 0
everywhere), so zeroing that column of ``layer_settings`` removes every SE
and changes nothing else. Only the benchmark builds it, so it is not
registered.
"""
from mmdet.models.backbones import EfficientNet


class PlainEfficientNet(EfficientNet):
    """MMDetection's ``EfficientNet`` with no SE in any block.

    Args:
        **kwargs: Arguments of mmdet's ``EfficientNet``.
    """

    # (kernel, channels, se_ratio, stride, expansion, block type) per block
    layer_settings = {
        family: [[block[:2] + [0] + block[3:] for block in layer]
                 for layer in layers]
        for family, layers in EfficientNet.layer_settings.items()
    }
