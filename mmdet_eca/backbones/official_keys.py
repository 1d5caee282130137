"""Key mapping for the official ECA-Net release (github.com/BangguWu/ECANet).

The released ``eca_resnet*.pth.tar`` files use torchvision's names, which
MMDetection's ``ResNet`` (and so ``ECAResNet``) shares: only the classifier
``fc`` is left over. ``eca_mobilenetv2_k13.pth.tar`` stores its network as
one ``features`` sequence::

    features.0.{0,1}           stem conv, BN         -> conv1.{conv,bn}
    features.N.conv.*          inverted residual N   -> layerS.J.*
    features.18.{0,1}          last 1x1 conv, BN     -> conv2.{conv,bn}
    classifier.1.{weight,bias} classifier            (dropped)

Inside a block the release numbers its layers (pointwise-expand conv + BN,
depthwise conv + BN, pointwise-linear conv, BN, ECA); the first block has
no expansion, so its numbering starts at the depthwise conv.

The functions take state dicts without the ``module.`` prefix and return
``(state_dict, unconverted)``: the renamed tensors, and the keys they did
not recognise, in file order.
"""
import re
from typing import Dict, List, Mapping, Tuple

from mmdet.models.backbones.mobilenet_v2 import MobileNetV2
from torch import Tensor

StateDict = Dict[str, Tensor]

RESNET_HEAD = ('fc.weight', 'fc.bias')
MOBILENET_V2_HEAD = ('classifier.1.weight', 'classifier.1.bias')

_RESNET_KEY = re.compile(
    r'^(conv1\.weight|bn1\.\w+|layer[1-4]\.\d+\.(conv[1-3]\.weight|'
    r'bn[1-3]\.\w+|downsample\.[01]\.\w+|eca\.conv\.weight))$')
_FEATURE_KEY = re.compile(r'^features\.(\d+)\.(.+)\.(\w+)$')

_EXPAND_BLOCK = {
    'conv.0.0': 'expand_conv.conv',
    'conv.0.1': 'expand_conv.bn',
    'conv.1.0': 'depthwise_conv.conv',
    'conv.1.1': 'depthwise_conv.bn',
    'conv.2': 'linear_conv.conv',
    'conv.3': 'linear_conv.bn',
    'conv.4.conv': 'eca.conv',
}
_PLAIN_BLOCK = {
    'conv.0.0': 'depthwise_conv.conv',
    'conv.0.1': 'depthwise_conv.bn',
    'conv.1': 'linear_conv.conv',
    'conv.2': 'linear_conv.bn',
    'conv.3.conv': 'eca.conv',
}
_CONV_BN = {'0': 'conv', '1': 'bn'}


def is_official_mobilenet_v2(state_dict: Mapping[str, Tensor]) -> bool:
    """Whether ``state_dict`` uses the release's MobileNetV2 names."""
    return 'features.0.0.weight' in state_dict


def convert_official_resnet(
        state_dict: StateDict) -> Tuple[StateDict, List[str]]:
    """Official ECA-ResNet (any depth) to ``ECAResNet`` names.

    The names are already mmdet's; this only sorts out what is not part of
    a ResNet backbone (the ``fc`` classifier, or anything foreign).

    Args:
        state_dict (dict[str, Tensor]): Release weights without ``module.``.

    Returns:
        tuple[dict[str, Tensor], list[str]]: The backbone tensors and the
        keys left unconverted.
    """
    converted, unconverted = {}, []
    for key, value in state_dict.items():
        if _RESNET_KEY.match(key):
            converted[key] = value
        else:
            unconverted.append(key)
    return converted, unconverted


def _block_positions() -> List[Tuple[int, int, bool]]:
    """(stage, index in stage, has expand conv) of features.1, 2, ..."""
    return [(stage, j, expand_ratio != 1)
            for stage, (expand_ratio, _, num_blocks, _) in enumerate(
                MobileNetV2.arch_settings, 1) for j in range(num_blocks)]


def convert_official_mobilenet_v2(
        state_dict: StateDict) -> Tuple[StateDict, List[str]]:
    """Official ECA-MobileNetV2 to ``ECAMobileNetV2`` names.

    Args:
        state_dict (dict[str, Tensor]): Release weights without ``module.``.

    Returns:
        tuple[dict[str, Tensor], list[str]]: The backbone tensors and the
        keys left unconverted (the classifier, anything foreign).
    """
    blocks = _block_positions()
    last = len(blocks) + 1  # the final 1x1 conv after the 17 blocks
    converted, unconverted = {}, []
    for key, value in state_dict.items():
        match = _FEATURE_KEY.match(key)
        new_key = None
        if match:
            index, module, param = int(match.group(1)), match.group(
                2), match.group(3)
            if index in (0, last) and module in _CONV_BN:
                top = 'conv1' if index == 0 else 'conv2'
                new_key = f'{top}.{_CONV_BN[module]}.{param}'
            elif 1 <= index < last:
                stage, j, expand = blocks[index - 1]
                names = _EXPAND_BLOCK if expand else _PLAIN_BLOCK
                if module in names:
                    new_key = f'layer{stage}.{j}.{names[module]}.{param}'
        if new_key is None:
            unconverted.append(key)
        else:
            converted[new_key] = value
    return converted, unconverted
