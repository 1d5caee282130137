"""Key maps for squeeze-and-excitation EfficientNet weights.

ImageNet EfficientNet weights all carry SE layers. :class:`ECAEfficientNet`
takes everything else from them, so its attention is the only part left
at its initialisation. Two layouts are common:

* OpenMMLab (mmpretrain/mmcls releases, MMDetection's ``EfficientNet``):
  the backbone's names under ``backbone.`` and a ``head.fc`` classifier.
  ``layers.L.J`` is block J of layer L, its SE ``layers.L.J.se.conv1`` and
  ``.se.conv2``; the names are those of ``ECAEfficientNet`` but for ``se``.
* timm (``efficientnet_b*``, ``tf_efficientnet_b*``)::

      timm                               MMDetection / ECAEfficientNet
      conv_stem, bn1                     layers.0.conv, layers.0.bn
      blocks.S.J (S = 0 .. 6)            layers.L.J' (stages 3 + 4 and
                                         5 + 6 share a layer, which
                                         MMDetection starts at each
                                         stride-2 stage)
      conv_pw, bn1 (expansion)           expand_conv.conv, expand_conv.bn
      conv_dw, bn1 or bn2                depthwise_conv.conv, .bn
      se.conv_reduce, se.conv_expand     se.conv1.conv, se.conv2.conv
      conv_pwl (conv_pw without          linear_conv.conv, linear_conv.bn
        expansion), bn3 (bn2)
      conv_head, bn2                     layers.6.conv, layers.6.bn
      classifier                         (left out)

:func:`convert_timm_efficientnet` renames timm's keys into OpenMMLab's,
SE included; :func:`split_attention` then takes the SE tensors out.
"""
import re
from typing import Dict, List, Mapping, Sequence, Tuple

from torch import Tensor

StateDict = Dict[str, Tensor]

TIMM_HEAD = ('classifier.weight', 'classifier.bias')
OPENMMLAB_HEAD = ('head.fc.weight', 'head.fc.bias')

# timm stage -> (MMDetection layer, the timm stage whose blocks come first
# in that layer, or None)
_TIMM_STAGES = {
    0: (1, None), 1: (2, None), 2: (3, None), 3: (4, None), 4: (4, 3),
    5: (5, None), 6: (5, 5)
}
_TIMM_TOP = {
    'conv_stem': 'layers.0.conv', 'bn1': 'layers.0.bn',
    'conv_head': 'layers.6.conv', 'bn2': 'layers.6.bn'
}
# depthwise-separable blocks (no expansion: conv_pw is the projection)
_TIMM_DS = {
    'conv_dw': 'depthwise_conv.conv', 'bn1': 'depthwise_conv.bn',
    'conv_pw': 'linear_conv.conv', 'bn2': 'linear_conv.bn',
    'se.conv_reduce': 'se.conv1.conv', 'se.conv_expand': 'se.conv2.conv'
}
# inverted residuals
_TIMM_IR = {
    'conv_pw': 'expand_conv.conv', 'bn1': 'expand_conv.bn',
    'conv_dw': 'depthwise_conv.conv', 'bn2': 'depthwise_conv.bn',
    'conv_pwl': 'linear_conv.conv', 'bn3': 'linear_conv.bn',
    'se.conv_reduce': 'se.conv1.conv', 'se.conv_expand': 'se.conv2.conv'
}
_TIMM_BLOCK = re.compile(r'^blocks\.(\d+)\.(\d+)\.(.+)\.(\w+)$')
_TOP = re.compile(r'^(\w+)\.(\w+)$')
_SE = re.compile(r'^layers\.(\d+)\.(\d+)\.se\.(.+)$')
_ECA = re.compile(r'^layers\.(\d+)\.(\d+)\.eca\.conv\.weight$')
_LAYER = re.compile(r'^layers\.(\d+)\.')


def is_timm_efficientnet(state_dict: Mapping[str, Tensor]) -> bool:
    """Whether ``state_dict`` has timm's EfficientNet names."""
    return 'conv_stem.weight' in state_dict


def is_openmmlab_classifier(state_dict: Mapping[str, Tensor]) -> bool:
    """Whether ``state_dict`` is an OpenMMLab EfficientNet classifier (its
    backbone under ``backbone.``), as mmpretrain releases it."""
    return 'backbone.layers.0.conv.weight' in state_dict


def is_efficientnet(state_dict: Mapping[str, Tensor]) -> bool:
    """Whether ``state_dict`` holds an EfficientNet in any layout above,
    with or without attention."""
    return ('layers.0.conv.weight' in state_dict
            or is_openmmlab_classifier(state_dict)
            or is_timm_efficientnet(state_dict))


def strip_backbone_prefix(
        state_dict: StateDict) -> Tuple[StateDict, List[str]]:
    """An OpenMMLab classifier's backbone, ``backbone.`` removed.

    Returns:
        tuple[dict[str, Tensor], list[str]]: The backbone tensors, and the
        other keys (the ``head.fc`` classifier) unconverted.
    """
    prefix = 'backbone.'
    converted = {
        k[len(prefix):]: v
        for k, v in state_dict.items() if k.startswith(prefix)
    }
    return converted, [k for k in state_dict if not k.startswith(prefix)]


def convert_timm_efficientnet(
        state_dict: StateDict) -> Tuple[StateDict, List[str]]:
    """timm ``efficientnet_b*``/``tf_efficientnet_b*`` names to OpenMMLab's.

    The SE tensors are renamed too (``se.conv1``/``se.conv2``), so the
    result loads into MMDetection's ``EfficientNet``.

    Args:
        state_dict (dict[str, Tensor]): timm weights without ``module.``.

    Returns:
        tuple[dict[str, Tensor], list[str]]: The renamed tensors and the
        keys left unconverted (the classifier, anything foreign).

    Raises:
        ValueError: For timm EfficientNets whose stages MMDetection's
            layers do not match (the edge-TPU and lite variants).
    """
    blocks: Dict[int, set] = {}
    for key in state_dict:
        match = _TIMM_BLOCK.match(key)
        if match:
            blocks.setdefault(int(match.group(1)), set()).add(
                int(match.group(2)))
    if sorted(blocks) != list(range(7)) or any(
            key.endswith('.conv_exp.weight') for key in state_dict):
        raise ValueError(
            f'is a timm EfficientNet with {len(blocks)} stages'
            f"{' and edge residual blocks' if len(blocks) == 6 else ''}; "
            'only the 7 stages of efficientnet_b0..b8 and '
            'tf_efficientnet_b0..b8 fit MMDetection\'s EfficientNet layers')
    converted, unconverted = {}, []
    for key, value in state_dict.items():
        new = _rename_timm_key(key, state_dict, blocks)
        if new is None:
            unconverted.append(key)
        else:
            converted[new] = value
    return converted, unconverted


def _rename_timm_key(key: str, state_dict: Mapping[str, Tensor],
                     blocks: Mapping[int, set]):
    match = _TIMM_BLOCK.match(key)
    if match is None:
        top = _TOP.match(key)
        if top and top.group(1) in _TIMM_TOP:
            return f'{_TIMM_TOP[top.group(1)]}.{top.group(2)}'
        return None
    stage, index, module, param = match.groups()
    stage, index = int(stage), int(index)
    layer, before = _TIMM_STAGES[stage]
    if before is not None:
        index += len(blocks[before])
    names = (_TIMM_IR if f'blocks.{stage}.{match.group(2)}.conv_pwl.weight'
             in state_dict else _TIMM_DS)
    if module not in names:
        return None
    return f'layers.{layer}.{index}.{names[module]}.{param}'


def is_se_key(key: str) -> bool:
    """Whether ``key`` (no prefix) is a block's squeeze-and-excitation."""
    return _SE.match(key) is not None


def is_eca_key(key: str) -> bool:
    """Whether ``key`` (no prefix) is a block's ECA weight."""
    return _ECA.match(key) is not None


def layer_of(key: str) -> int:
    """The ``layers`` index of ``key`` (no prefix), -1 for other keys."""
    match = _LAYER.match(key)
    return int(match.group(1)) if match else -1


def split_attention(
        state_dict: Mapping[str, Tensor]) -> Tuple[StateDict, List[str]]:
    """Take the SE tensors out of OpenMMLab-named EfficientNet weights.

    Returns:
        tuple[dict[str, Tensor], list[str]]: Everything else, and the SE
        keys in their original order.
    """
    kept, se_keys = {}, []
    for key, value in state_dict.items():
        if is_se_key(key):
            se_keys.append(key)
        else:
            kept[key] = value
    return kept, se_keys


def _ranges(indices: Sequence[int]) -> str:
    indices = sorted(indices)
    if indices == list(range(indices[0], indices[-1] + 1)) and len(
            indices) > 1:
        return f'{indices[0]}-{indices[-1]}'
    return ','.join(map(str, indices))


def describe_se_keys(keys: Sequence[str]) -> str:
    """Name every key of ``keys`` (SE keys, no prefix) in a short phrase.

    ``layers.1.0.se.conv1.conv.weight`` ... (64 keys of EfficientNet-B0)
    become ``'64 SE tensors: se.conv1.conv.{weight,bias},
    se.conv2.conv.{weight,bias} of blocks layers.1.0, layers.2.0-1, ...'``,
    which still says exactly which tensors they are.

    Args:
        keys (Sequence[str]): Keys for which :func:`is_se_key` holds.

    Returns:
        str: The phrase.
    """
    by_block: Dict[Tuple[int, int], List[str]] = {}
    for key in keys:
        layer, index, rest = _SE.match(key).groups()
        by_block.setdefault((int(layer), int(index)), []).append(rest)
    groups: Dict[Tuple[str, ...], List[Tuple[int, int]]] = {}
    for block, rests in by_block.items():
        groups.setdefault(tuple(sorted(rests)), []).append(block)
    parts = []
    for rests, group in groups.items():
        modules: Dict[str, List[str]] = {}
        for rest in rests:
            module, param = rest.rsplit('.', 1)
            modules.setdefault(module, []).append(param)
        names = ', '.join(
            f'se.{m}.{ps[0]}' if len(ps) == 1 else
            f"se.{m}.{{{','.join(ps)}}}" for m, ps in modules.items())
        layers: Dict[int, List[int]] = {}
        for layer, index in group:
            layers.setdefault(layer, []).append(index)
        where = ', '.join(f'layers.{layer}.{_ranges(indices)}'
                          for layer, indices in sorted(layers.items()))
        parts.append(f'{names} of blocks {where}')
    return f"{len(keys)} SE tensors: {'; '.join(parts)}"
