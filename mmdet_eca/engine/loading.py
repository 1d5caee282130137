"""Read a checkpoint and load it into a detector, or say why it does not fit.

MMEngine loads weights non-strictly: a size mismatch or a missing key is
only logged, and the model runs with those weights left at their
initialisation. That is what fine-tuning from a checkpoint with another
number of classes needs, but evaluating or resuming such a half-loaded
model gives silently wrong results. :func:`load_weights` loads strictly
for those, and refuses, even non-strictly, a checkpoint that shares no
weight with the model.
"""
import re
from collections import OrderedDict
from contextlib import contextmanager
from typing import Any, List, Mapping, Optional, Sequence, Tuple

from mmengine.runner import CheckpointLoader
from mmengine.runner.checkpoint import load_state_dict as mmengine_load
from torch import Tensor, nn

from ..checkpoint import load_checkpoint_file, state_dict_of
from ..compat import copy_state_dict_metadata
from ..errors import CheckpointError
from ..fileio import is_remote

# MMEngine's default: weights saved from a wrapped (DDP) model
MODULE_PREFIX = ((r'^module\.', ''), )


def read_checkpoint(filename: str) -> Any:
    """Load a checkpoint file onto the CPU, unpickling weights only.

    Local files are read by :func:`mmdet_eca.checkpoint.load_checkpoint_file`
    (the reader of the weight converter), URLs (``https://``,
    ``open-mmlab://``, ...) by MMEngine.

    Raises:
        CheckpointError: ``"<file>: <what is wrong>"`` if the file is
            missing, not a checkpoint, truncated, or holds pickled objects
            other than weights and MMEngine's logs.
    """
    if is_remote(filename):
        return CheckpointLoader.load_checkpoint(filename, map_location='cpu')
    try:
        return load_checkpoint_file(filename)
    except CheckpointError as err:
        raise CheckpointError(f'{filename}: {err}') from err


def weights_of(checkpoint: Any, filename: str) -> Mapping[str, Tensor]:
    """:func:`~mmdet_eca.checkpoint.state_dict_of`, naming ``filename`` in
    its error."""
    try:
        return state_dict_of(checkpoint)
    except CheckpointError as err:
        raise CheckpointError(f'{filename}: {err}') from err


def _revise(state: Mapping, revise_keys: Sequence[Tuple[str, str]]):
    revised = OrderedDict()
    for key, value in state.items():
        for pattern, replacement in revise_keys:
            key = re.sub(pattern, replacement, key)
        revised[key] = value
    # the per-module versions that BatchNorm's loading reads
    copy_state_dict_metadata(state, revised)
    return revised


def _shape(tensor: Tensor) -> List[int]:
    return list(tensor.shape)


def misfit(model: nn.Module, state: Mapping) -> Optional[str]:
    """How ``state`` fails to fit ``model`` exactly, as one phrase, or
    None if it fits: shapes first, then missing, then extra weights."""
    own = model.state_dict()
    shared = [k for k in own if k in state]
    if not shared:
        return (f'they share no weight (the checkpoint has {len(state)}, '
                f'e.g. {next(iter(state))!r}; the model {len(own)}, e.g. '
                f'{next(iter(own))!r}); was it saved from another kind of '
                'model?')
    reshaped = [k for k in shared if state[k].shape != own[k].shape]
    if reshaped:
        key = reshaped[0]
        more = f' ({len(reshaped) - 1} more weights differ in shape)' \
            if len(reshaped) > 1 else ''
        return (f'{key} has shape {_shape(state[key])} in the checkpoint '
                f'but {_shape(own[key])} in the model{more}; was it trained '
                'with another config?')
    missing = [k for k in own if k not in state]
    if missing:
        return (f'it lacks {len(missing)} of the model\'s {len(own)} '
                f'weights, first {missing[0]!r}; was it trained with '
                'another config?')
    extra = [k for k in state if k not in own]
    if extra:
        weights = 'weight' if len(extra) == 1 else 'weights'
        return (f'it has {len(extra)} {weights} the model lacks, first '
                f'{extra[0]!r}; was it trained with another config?')
    return None


def check_weights(model: nn.Module,
                  checkpoint: Any,
                  filename: str,
                  strict: bool = True,
                  revise_keys: Sequence[Tuple[str, str]] = MODULE_PREFIX
                  ) -> Mapping[str, Tensor]:
    """Raise if a checkpoint's weights would load wrongly into ``model``.

    Args:
        model (nn.Module): The (unwrapped) model.
        checkpoint (Any): What :func:`read_checkpoint` returned.
        filename (str): Its file, for messages.
        strict (bool): Require exactly the model's weights and shapes;
            otherwise only some shared weight, as for fine-tuning.
            Defaults to True.
        revise_keys (Sequence[tuple]): ``(pattern, replacement)`` applied
            to the checkpoint's keys. Defaults to stripping ``module.``.

    Returns:
        Mapping[str, Tensor]: The weights, keys revised.

    Raises:
        CheckpointError: ``"<file>: does not fit the model: ..."`` naming
            the first mismatched key (and both shapes); also what a model
            refuses while loading, such as ECA kernel sizes that differ.
    """
    state = _revise(weights_of(checkpoint, filename), revise_keys)
    problem = misfit(model, state)
    shares_nothing = not any(key in state for key in model.state_dict())
    if problem and (strict or shares_nothing):
        # A model's own check says more (ECAResNet names the kernel sizes
        # in the file), so it gets the first word.
        with _model_errors(filename):
            try:
                model.load_state_dict(state, strict=False)
            except RuntimeError:
                pass  # the shape mismatches, which misfit() words
        raise CheckpointError(f'{filename}: does not fit the model: '
                              f'{problem}')
    return state


def load_weights(model: nn.Module,
                 checkpoint: Any,
                 filename: str,
                 strict: bool = True,
                 revise_keys: Sequence[Tuple[str, str]] = MODULE_PREFIX,
                 logger=None) -> None:
    """Load a checkpoint's weights into ``model`` after
    :func:`check_weights`; non-strict loading is MMEngine's (mismatches
    are logged to ``logger`` and skipped), as for fine-tuning.

    Args:
        model (nn.Module): The (unwrapped) model.
        checkpoint (Any): What :func:`read_checkpoint` returned.
        filename (str): Its file, for messages.
        strict (bool): See :func:`check_weights`. Defaults to True.
        revise_keys (Sequence[tuple]): See :func:`check_weights`.
        logger: Where non-strict loading logs mismatches.

    Raises:
        CheckpointError: As :func:`check_weights`.
    """
    state = check_weights(model, checkpoint, filename, strict, revise_keys)
    with _model_errors(filename):
        if strict:
            model.load_state_dict(state, strict=True)
        else:
            mmengine_load(model, state, strict=False, logger=logger)


@contextmanager
def _model_errors(filename: str):
    """What a model's own loading code refuses, as a CheckpointError."""
    try:
        yield
    except (ValueError, KeyError) as err:
        message = err.args[0] if isinstance(err, KeyError) else err
        raise CheckpointError(f'{filename}: {message}') from err


def resumable_problem(checkpoint: Any) -> Optional[str]:
    """What keeps a checkpoint from being resumed from, or None: MMEngine
    needs the iteration counts (``meta``) and the logs (``message_hub``).
    """
    if not isinstance(checkpoint, Mapping):
        return None  # weights_of() says what is wrong
    meta = checkpoint.get('meta')
    if not isinstance(meta, Mapping) or 'iter' not in meta \
            or 'epoch' not in meta or 'message_hub' not in checkpoint:
        return ("holds no training state ('meta' with epoch and iter, "
                "'message_hub'), only weights: it cannot be resumed from; "
                'start from its weights with --cfg-options load_from=<file>')
    return None
