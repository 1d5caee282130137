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

from mmengine.runner.checkpoint import _load_checkpoint
from mmengine.runner.checkpoint import load_state_dict as mmengine_load
from torch import Tensor, nn

from ..checkpoint import CheckpointError, load_checkpoint_file

_REMOTE = re.compile(r'^[\w-]+://')


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
    if _REMOTE.match(filename):
        return _load_checkpoint(filename, map_location='cpu')
    try:
        return load_checkpoint_file(filename)
    except CheckpointError as err:
        raise CheckpointError(f'{filename}: {err}') from err


def weights_of(checkpoint: Any, filename: str) -> 'OrderedDict[str, Tensor]':
    """The state dict of a loaded checkpoint (``checkpoint['state_dict']``
    or the checkpoint itself), keeping torch's ``_metadata``."""
    expected = "expected a dict with a 'state_dict' of tensors"
    if not isinstance(checkpoint, Mapping):
        raise CheckpointError(f'{filename}: holds a '
                              f'{type(checkpoint).__name__}; {expected}')
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, Mapping) or not state or not all(
            isinstance(v, Tensor) for v in state.values()):
        keys = ', '.join(repr(k) for k in list(checkpoint)[:5])
        raise CheckpointError(f'{filename}: has no state_dict of tensors '
                              f'(top-level keys {keys}); {expected}')
    return state


def _revise(state: Mapping, revise_keys: Sequence[Tuple[str, str]]):
    revised = OrderedDict()
    for key, value in state.items():
        for pattern, replacement in revise_keys:
            key = re.sub(pattern, replacement, key)
        revised[key] = value
    metadata = getattr(state, '_metadata', None)
    if metadata is not None:
        revised._metadata = metadata  # versions that BN loading reads
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


def load_weights(model: nn.Module,
                 checkpoint: Any,
                 filename: str,
                 strict: bool = True,
                 revise_keys: Sequence[Tuple[str, str]] = (
                     (r'^module\.', ''), ),
                 logger=None) -> None:
    """Load a checkpoint's weights into ``model``.

    Args:
        model (nn.Module): The (unwrapped) model.
        checkpoint (Any): What :func:`read_checkpoint` returned.
        filename (str): Its file, for messages.
        strict (bool): Require exactly the model's weights and shapes.
            Otherwise MMEngine's non-strict loading (mismatches are logged
            and skipped), as for fine-tuning. Defaults to True.
        revise_keys (Sequence[tuple]): ``(pattern, replacement)`` applied
            to the checkpoint's keys. Defaults to stripping ``module.``.
        logger: Where non-strict loading logs mismatches.

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



def check_checkpoint_fits(config: str, checkpoint: str) -> None:
    """Build ``config``'s detector and load ``checkpoint`` into it strictly.

    For tools that then load the checkpoint through MMDetection's
    ``init_detector`` (non-strict), so that a checkpoint of another model
    is refused in one line instead of predicting with random weights.

    Raises:
        MissingFileError: If ``config`` does not exist.
        ConfigError: If the model fails to build (naming the entry).
        CheckpointError: If the checkpoint cannot be read or does not fit.
    """
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    from .explain import explained
    from .runner import load_config
    cfg = load_config(config)
    register_all_modules(init_default_scope=False)
    with explained(cfg):
        model = MODELS.build(cfg.model)
    load_weights(model, read_checkpoint(checkpoint), checkpoint, strict=True)
