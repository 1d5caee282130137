"""Whether a backbone's ``Pretrained`` checkpoint fills every one of its
tensors, and a one-line report of what came from it.

MMEngine loads ``init_cfg=dict(type='Pretrained', checkpoint=...,
prefix='backbone.')`` non-strictly: a weight the file lacks, or holds in
another shape, is listed among the log's warnings and left at its
initialisation, so a detector can train from a half-pretrained backbone
(an ImageNet ResNeXt-50 checkpoint given to a ResNeXt-101 fills its first
stages and nothing else). :func:`check_pretrained_backbone` loads the file
into a copy of the backbone the way MMEngine does and refuses it unless
every tensor is filled. The one allowed gap is attention the file has none
of: plain weights loaded into an ECA backbone, which the backbones
report themselves (:mod:`mmdet_eca.backbones.plain_load`). Weights of the
file that the backbone does not build (a classifier's last convolution)
are left out, as MMEngine leaves them.
"""
import copy
import logging
import re
import warnings
from contextlib import contextmanager
from typing import List, Mapping, Optional, Tuple

import torch
from mmengine.logging import MMLogger
from torch import Tensor, nn

from ..backbones.plain_load import eca_weight_names
from ..errors import CheckpointError
from ..fileio import is_remote
from .loading import read_checkpoint, weights_of

WHERE = 'model.backbone.init_cfg'
_SIZE_MISMATCH = re.compile(r'size mismatch for (\S+?): copying a param '
                            r'with shape (.+?) from checkpoint, the shape '
                            r'in current model is (.+?)\.$')


def pretrained_init(backbone: nn.Module) -> Optional[Mapping]:
    """The backbone's ``Pretrained`` entry of ``init_cfg``, or None."""
    init_cfg = getattr(backbone, 'init_cfg', None)
    entries = init_cfg if isinstance(init_cfg, list) else [init_cfg]
    for entry in entries:
        if isinstance(entry, Mapping) and entry.get('type') == 'Pretrained':
            return entry
    return None


def _under_prefix(state: Mapping[str, Tensor], prefix: Optional[str],
                  filename: str) -> Mapping[str, Tensor]:
    """The weights MMEngine's ``Pretrained`` hands the backbone."""
    if not prefix:
        return {(k[len('module.'):] if k.startswith('module.') else k): v
                for k, v in state.items()}
    prefix = prefix if prefix.endswith('.') else prefix + '.'
    taken = {k[len(prefix):]: v for k, v in state.items()
             if k.startswith(prefix)}
    if not taken:
        sample = ', '.join(repr(k) for k in list(state)[:3])
        raise CheckpointError(
            f'{filename}: has no weights under prefix {prefix!r} ({WHERE}'
            f'.prefix); its keys start {sample}: set the prefix its backbone '
            "weights have ('backbone.' for MMDetection and mmpretrain "
            'checkpoints), or none for a backbone-only file')
    return taken


@contextmanager
def _quiet():
    """Drop what the copy's own loading code logs or warns: the real load
    that follows says it once."""
    logger = MMLogger.get_current_instance()
    drop = logging.Filter('nothing')  # passes only a logger of that name
    logger.addFilter(drop)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            yield
    finally:
        logger.removeFilter(drop)


def _trial_load(backbone: nn.Module, state: Mapping[str, Tensor],
                filename: str) -> Tuple[List[str], List[str]]:
    """Load ``state`` into a copy of ``backbone`` as MMEngine would.

    Returns:
        tuple[list[str], list[str]]: The backbone's tensors the file left
        unfilled, and the file's keys the backbone does not take. Unfilled
        is read off the tensors (the copy starts as NaN), not off the
        missing keys, which the ECA backbones edit for identity-mode loads.
    """
    trial = copy.deepcopy(backbone)
    with torch.no_grad():
        for tensor in trial.state_dict().values():
            if tensor.is_floating_point():
                tensor.fill_(float('nan'))
    try:
        with _quiet():
            result = trial.load_state_dict(state, strict=False)
    except ValueError as err:  # the ECA backbones' kernel-size check
        raise CheckpointError(f'{filename}: {err} ({WHERE})') from err
    except RuntimeError as err:
        lines = [line.strip() for line in str(err).splitlines()]
        sizes = [m for m in map(_SIZE_MISMATCH.match, lines) if m]
        if not sizes:
            raise
        key, theirs, ours = sizes[0].groups()
        more = (f' ({len(sizes) - 1} more weights differ in shape)'
                if len(sizes) > 1 else '')
        raise CheckpointError(
            f'{filename}: does not fit the backbone ({WHERE}): {key} has '
            f'shape {theirs} in the checkpoint but {ours} in the model'
            f'{more}; was it trained with another backbone config?') from err
    unfilled = [
        key for key, tensor in trial.state_dict().items()
        if key in result.missing_keys or (
            tensor.is_floating_point() and tensor.numel()
            and bool(torch.isnan(tensor).all()))
    ]
    return unfilled, list(result.unexpected_keys)


def check_pretrained_backbone(backbone: nn.Module) -> Optional[str]:
    """Refuse a backbone's ``Pretrained`` checkpoint that would leave any
    of its tensors at their initialisation.

    Args:
        backbone (nn.Module): The detector's (or classifier's) backbone,
            with its ``init_cfg``.

    Returns:
        str | None: The report line (what came from which file), or None
        when the backbone has no local ``Pretrained`` checkpoint (remote
        files are MMEngine's to fetch and are not checked).

    Raises:
        CheckpointError: ``"<file>: ..."`` naming the first weight the
            file lacks or holds in another shape, or the prefix that
            selects nothing.
    """
    init = pretrained_init(backbone)
    if init is None or not init.get('checkpoint') or is_remote(
            init['checkpoint']):
        return None
    filename = init['checkpoint']
    state = _under_prefix(weights_of(read_checkpoint(filename), filename),
                          init.get('prefix'), filename)
    unfilled, unused = _trial_load(backbone, state, filename)
    eca = set(eca_weight_names(backbone))
    # plain weights: the ECA backbones say how their ECA starts
    plain = bool(eca) and eca <= set(unfilled)
    lacking = [k for k in unfilled if not (plain and k in eca)]
    total = len(backbone.state_dict())
    name = type(backbone).__name__
    if lacking:
        raise CheckpointError(
            f'{filename}: lacks {len(lacking)} of the {name} backbone\'s '
            f'{total} weights ({WHERE}), first {lacking[0]!r}: MMEngine '
            'would leave them at their initialisation; was it trained with '
            'another backbone config?')
    line = (f'{WHERE}: {filename} fills all {total - len(eca) * plain} '
            f'weights of the {name} backbone')
    if plain:
        line += f' but its {len(eca)} ECA weights (none in the file)'
    if unused:
        line += (f'; {len(unused)} weights of the file are not in the '
                 f'backbone, first {unused[0]!r}')
    return line
