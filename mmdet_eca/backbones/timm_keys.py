"""Key mapping for timm's ECA ResNet-D weights (``ecaresnet50d``, ``101d``).

timm and MMDetection's ``ResNetV1d`` build the same network (a three-conv
deep stem of 32, 32, 64 channels, average-pool shortcuts) under different
names::

    timm                               ECAResNetV1d
    conv1.0, conv1.1 (conv, BN)        stem.0, stem.1
    conv1.3, conv1.4                   stem.3, stem.4
    conv1.6, bn1                       stem.6, stem.7
    layerX.Y.se.conv                   layerX.Y.eca.conv
    layerX.Y.downsample.{1,2}          unchanged (.0 is the pooling)
    fc                                 (dropped)

Everything else in a block (``conv1..3``, ``bn1..3``) is named alike.
timm's tiered stems (``ecaresnet26t``/``50t``, 24-32-64 channels) have the
same names but shapes MMDetection's stem cannot take: :func:`tiered_stem`
says so, for the converter and for loading alike.
"""
import re
from typing import Dict, List, Mapping, Optional, Tuple

from torch import Tensor

StateDict = Dict[str, Tensor]

TIMM_HEAD = ('fc.weight', 'fc.bias')

_STEM = {
    'conv1.0': 'stem.0',
    'conv1.1': 'stem.1',
    'conv1.3': 'stem.3',
    'conv1.4': 'stem.4',
    'conv1.6': 'stem.6',
    'bn1': 'stem.7',
}
_KEY = re.compile(r'^(.+)\.(\w+)$')
_BLOCK = re.compile(r'^layer[1-4]\.\d+\.'
                    r'(conv[1-3]|bn[1-3]|se\.conv|downsample\.[12])$')
_ECA_AS_SE = re.compile(r'^layer\d+\.\d+\.se\.conv\.weight$')


def is_timm_resnet(state_dict: Mapping[str, Tensor]) -> bool:
    """Whether ``state_dict`` uses timm's ResNet names.

    A timm deep stem (``conv1.0``) or an ECA named ``se`` gives it away;
    the official and mmdet layouts have neither. (A squeeze-and-excitation
    ``se.fc1`` alone does not: that is no ECA file of any layout.)
    """
    return 'conv1.0.weight' in state_dict or any(
        _ECA_AS_SE.match(key) for key in state_dict)


def tiered_stem(state_dict: Mapping[str, Tensor]) -> Optional[str]:
    """Why timm weights with a tiered stem cannot load, or None.

    Args:
        state_dict (Mapping[str, Tensor]): Weights in timm's names (or
            already renamed to ``stem.*``), no prefix.

    Returns:
        str | None: A phrase naming the stem's widths, or None when the
        first stem conv has ResNet-D's 32 output channels (or is absent).
    """
    first = state_dict.get('conv1.0.weight', state_dict.get('stem.0.weight'))
    second = state_dict.get('conv1.3.weight', state_dict.get('stem.3.weight'))
    if first is None or first.dim() != 4 or first.shape[0] == 32:
        return None
    widths = [first.shape[0]]
    if second is not None and second.dim() == 4:
        widths.append(second.shape[0])
    return (f"has timm's tiered stem ({'-'.join(map(str, widths))}-64 "
            'channels, as ecaresnet26t/50t), which the ResNet-D stem of '
            "MMDetection's ResNetV1d (32-32-64) cannot express; use "
            "ecaresnet50d or ecaresnet101d weights")


def convert_timm_resnet_d(
        state_dict: StateDict) -> Tuple[StateDict, List[str]]:
    """timm ``ecaresnet*d`` weights to ``ECAResNetV1d`` names.

    Args:
        state_dict (dict[str, Tensor]): timm weights without ``module.``.

    Returns:
        tuple[dict[str, Tensor], list[str]]: The renamed backbone tensors and
        the keys left unconverted (the ``fc`` classifier, anything foreign,
        such as the ``se.fc1`` of a squeeze-and-excitation ResNet).
    """
    converted, unconverted = {}, []
    for key, value in state_dict.items():
        match = _KEY.match(key)
        module, param = match.groups() if match else (key, '')
        if module in _STEM:
            converted[f'{_STEM[module]}.{param}'] = value
        elif _BLOCK.match(module):
            converted[f"{module.replace('.se.', '.eca.')}.{param}"] = value
        else:
            unconverted.append(key)
    return converted, unconverted
