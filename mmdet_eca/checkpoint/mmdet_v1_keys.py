"""Key and tensor mapping from MMDetection 1.x detector weights to 3.x.

A 1.x detector's weights differ from a 3.x detector's in four ways:

- two-stage heads sit at the top level (``bbox_head.*``, ``mask_head.*``);
  3.x nests them under ``roi_head.``;
- softmax classifiers put the background first (``fc_cls``: 81 outputs,
  index 0); 3.x puts it last (index 80);
- class-specific box regression keeps 4 rows for the background (``fc_reg``
  324 rows) and the mask head a background channel (``conv_logits`` 81);
  3.x has neither (320 rows, 80 channels);
- RetinaNet's head convs were once plain convs (``cls_convs.0.weight``);
  3.x names them as ConvModule does (``cls_convs.0.conv.weight``).

Sigmoid classifiers (``rpn_cls``, ``retina_cls``) never had a background
output, so their weights and biases keep their order. MMDetection 2.x's
``upgrade_model_version.py`` rotated every 1-D classifier bias it matched,
sigmoid heads' included, which hands each class the bias of its neighbour;
this module does not.
"""
import re
from typing import Dict, Iterable, List, Mapping, Tuple

import torch
from torch import Tensor

from ..errors import CheckpointError

StateDict = Dict[str, Tensor]

_PLAIN_RETINA_CONV = re.compile(
    r'^bbox_head\.(cls_convs|reg_convs)\.(\d+)\.(weight|bias)$')
TWO_STAGE_HEADS = ('bbox_head.', 'mask_head.')


def has_v1_layout(keys: Iterable[str]) -> bool:
    """Heads only 1.x saves: a top-level RoI head next to an RPN, or
    RetinaNet's plain head convs."""
    keys = list(keys)
    two_stage = (any(k.startswith('rpn_head.') for k in keys)
                 and any(k.startswith(TWO_STAGE_HEADS) for k in keys))
    return two_stage or any(_PLAIN_RETINA_CONV.match(k) for k in keys)


def _check_known_keys(state_dict: Mapping, detector: str) -> None:
    heads = ('bbox_head.', ) if detector == 'RetinaNet' else (
        'rpn_head.', 'bbox_head.') + (
            ('mask_head.', ) if detector == 'MaskRCNN' else ())
    allowed = ('backbone.', 'neck.') + heads
    unknown = [k for k in state_dict if not k.startswith(allowed)]
    if unknown:
        raise CheckpointError(
            f'has {len(unknown)} tensor(s) outside the backbone, neck and '
            f'heads of a {detector} ({", ".join(allowed)}), e.g. '
            f'{unknown[0]!r}')


def _background_last(value: Tensor) -> Tensor:
    """Move output 0 (1.x's background) to the end."""
    return torch.cat([value[1:], value[:1]])


def _upgrade_bbox_head(state_dict: StateDict, changes: List[str]) -> int:
    """Reorder ``fc_cls`` and trim ``fc_reg`` in place; returns classes."""
    cls_w = state_dict['bbox_head.fc_cls.weight']
    outputs = cls_w.shape[0]
    for name in ('weight', 'bias'):
        key = f'bbox_head.fc_cls.{name}'
        if key in state_dict:
            state_dict[key] = _background_last(state_dict[key])
    changes.append(f'bbox_head.fc_cls: background output moved from first '
                   f'to last ({outputs} outputs)')
    rows = state_dict['bbox_head.fc_reg.weight'].shape[0]
    if rows == 4 * outputs:
        for name in ('weight', 'bias'):
            key = f'bbox_head.fc_reg.{name}'
            if key in state_dict:
                state_dict[key] = state_dict[key][4:]
        changes.append(f"bbox_head.fc_reg: background's 4 rows dropped "
                       f'({rows} -> {rows - 4})')
    elif rows != 4:
        raise CheckpointError(
            f"'bbox_head.fc_reg.weight' has {rows} rows; expected 4 x "
            f"{outputs} (one box per class of 'fc_cls') or 4 "
            '(class-agnostic)')
    return outputs - 1


def _upgrade_mask_head(state_dict: StateDict, num_classes: int,
                       changes: List[str]) -> None:
    channels = state_dict['mask_head.conv_logits.weight'].shape[0]
    if channels == num_classes + 1:
        for name in ('weight', 'bias'):
            key = f'mask_head.conv_logits.{name}'
            if key in state_dict:
                state_dict[key] = state_dict[key][1:]
        changes.append('mask_head.conv_logits: background channel dropped '
                       f'({channels} -> {num_classes})')
    elif channels != 1:
        raise CheckpointError(
            f"'mask_head.conv_logits.weight' has {channels} channels; "
            f'expected {num_classes + 1} (background + {num_classes} '
            'classes) or 1 (class-agnostic)')


def _check_sigmoid(state_dict: Mapping, cls_key: str, reg_key: str,
                   changes: List[str]) -> int:
    """Check a sigmoid classifier's shape; returns its classes per anchor."""
    outputs = state_dict[f'{cls_key}.weight'].shape[0]
    anchors = state_dict[f'{reg_key}.weight'].shape[0] // 4
    if anchors < 1 or outputs % anchors:
        raise CheckpointError(
            f"'{cls_key}.weight' has {outputs} outputs for {anchors} "
            f"anchors ('{reg_key}'); expected a sigmoid classifier with a "
            'whole number of classes per anchor')
    changes.append(f'{cls_key}: sigmoid, no background output: weights and '
                   'biases kept in their order')
    return outputs // anchors


def upgrade_state_dict(state_dict: Mapping[str, Tensor],
                       detector: str) -> Tuple[StateDict, int, List[str]]:
    """Rename and reshape a 1.x detector's weights into 3.x's.

    Args:
        state_dict (Mapping[str, Tensor]): 1.x weights, no ``module.``.
        detector (str): A key of :data:`DETECTORS`.

    Returns:
        tuple[dict[str, Tensor], int, list[str]]: The 3.x weights, the
        number of object classes (no background), and one line per change
        made, for the report.

    Raises:
        CheckpointError: On tensors a 1.x ``detector`` does not hold, or
            head shapes that fit no class count.
    """
    _check_known_keys(state_dict, detector)
    # values change in place and keys are renamed in one pass, so the
    # weights keep the file's order
    upgraded, changes = dict(state_dict), []
    if detector == 'RetinaNet':
        num_classes = _check_sigmoid(upgraded, 'bbox_head.retina_cls',
                                     'bbox_head.retina_reg', changes)
        renamed = [k for k in upgraded if _PLAIN_RETINA_CONV.match(k)]
        if renamed:
            changes.append('bbox_head.{cls,reg}_convs.N: renamed to '
                           f'ConvModule names (.conv.) ({len(renamed)} '
                           'tensors)')
        return ({_PLAIN_RETINA_CONV.sub(r'bbox_head.\1.\2.conv.\3', k): v
                 for k, v in upgraded.items()}, num_classes, changes)

    _check_sigmoid(upgraded, 'rpn_head.rpn_cls', 'rpn_head.rpn_reg', changes)
    num_classes = _upgrade_bbox_head(upgraded, changes)
    if detector == 'MaskRCNN':
        _upgrade_mask_head(upgraded, num_classes, changes)
    moved = [k for k in upgraded if k.startswith(TWO_STAGE_HEADS)]
    heads = ', '.join(sorted({k.split('.')[0] + '.*' for k in moved}))
    changes.append(f'{heads} moved under roi_head. ({len(moved)} tensors)')
    return ({(f'roi_head.{k}' if k.startswith(TWO_STAGE_HEADS) else k): v
             for k, v in upgraded.items()}, num_classes, changes)
