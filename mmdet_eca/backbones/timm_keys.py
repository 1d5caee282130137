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
same names but widths no ``stem_channels`` of MMDetection's stem gives:
:func:`tiered_stem` says so, for the converter and for loading alike.
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


def stem_widths(
        state_dict: Mapping[str, Tensor]) -> Optional[Tuple[int, ...]]:
    """Output widths of a deep stem's three convs, or None without one.

    Args:
        state_dict (Mapping[str, Tensor]): Weights in timm's names
            (``conv1.0``, ``conv1.3``, ``conv1.6``) or ``ECAResNetV1d``'s
            (``stem.0``, ``stem.3``, ``stem.6``), no prefix.

    Returns:
        tuple[int, ...] | None: e.g. ``(32, 32, 64)``; only the convs the
        file has (a truncated dict may lack the later ones).
    """
    widths = []
    for timm, mmdet in (('conv1.0', 'stem.0'), ('conv1.3', 'stem.3'),
                        ('conv1.6', 'stem.6')):
        weight = state_dict.get(f'{timm}.weight',
                                state_dict.get(f'{mmdet}.weight'))
        if weight is None or weight.dim() != 4:
            break
        widths.append(int(weight.shape[0]))
    return tuple(widths) or None


def tiered_stem(state_dict: Mapping[str, Tensor]) -> Optional[str]:
    """Why timm weights with a tiered stem cannot load, or None.

    ResNet-D's stem (MMDetection's ``ResNetV1d``, timm's ``ecaresnet*d``)
    is ``s/2, s/2, s`` channels wide for its ``stem_channels`` s: its first
    two convs are always equally wide. timm's tiered stem
    (``ecaresnet26t``/``50t``) is 24-32-64, which no ``stem_channels``
    gives. Only that pattern, two first widths that differ, is refused
    here: any other stem of another width is a plain size mismatch, which
    strict loading reports (a refusal of every stem not 32 wide once
    broke models with ``stem_channels`` other than 64).

    Args:
        state_dict (Mapping[str, Tensor]): Weights in timm's names (or
            already renamed to ``stem.*``), no prefix.

    Returns:
        str | None: A phrase naming the file's stem widths, or None.
    """
    widths = stem_widths(state_dict)
    if widths is None or len(widths) < 2 or widths[0] == widths[1]:
        return None
    shown = '-'.join(map(str, widths))
    what = ("timm's tiered stem" if widths == (24, 32, 64) else
            'a tiered stem')
    return (f'has {what} ({shown} channels, as ecaresnet26t/50t), which '
            "the ResNet-D stem of MMDetection's ResNetV1d (s/2-s/2-s for "
            'stem_channels s, 32-32-64 in timm\'s ecaresnet*d) cannot '
            'express; use ecaresnet50d or ecaresnet101d weights')


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
