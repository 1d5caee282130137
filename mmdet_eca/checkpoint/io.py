"""Reading checkpoints safely and writing them atomically.

Files are read with ``torch.load(..., weights_only=True)``: tensors and
plain containers only, so a downloaded file can never run code here.
Output goes to a temporary file next to the destination and is renamed
into place, so an interrupted run never leaves a half-written checkpoint.
"""
import os
import pickle
import re
import warnings
from typing import Any, Dict, Mapping, Optional

import torch
from torch import Tensor

from ..compat import load_weights_only
from ..errors import CheckpointError
from ..fileio import atomic_write

_ZIP_MAGIC = b'PK\x03\x04'  # torch.save's default (zip) format
_PICKLE_MAGIC = b'\x80'  # legacy torch.save format: a pickle stream
_UNSUPPORTED = re.compile(r'Unsupported (?:global: GLOBAL )?([\w.]+(?: \d+)?)')


def _sniff(path: str) -> bytes:
    with open(path, 'rb') as f:
        return f.read(16)


def _latest_checkpoint(folder: str) -> Optional[str]:
    """The checkpoint MMEngine last wrote in ``folder`` (its
    ``last_checkpoint`` file names it), else the newest ``.pth``."""
    try:
        with open(os.path.join(folder, 'last_checkpoint')) as f:
            named = f.read().strip()
        if os.path.isfile(named):
            return named
    except OSError:
        pass
    try:
        found = [
            os.path.join(folder, name) for name in os.listdir(folder)
            if name.endswith(('.pth', '.pth.tar', '.pt', '.bin'))
        ]
    except OSError:
        return None
    files = [path for path in found if os.path.isfile(path)]
    return max(files, key=os.path.getmtime) if files else None


def folder_problem(path: str) -> Optional[str]:
    """What to say when a checkpoint's path is a folder, or None.

    Args:
        path (str): A path given as a checkpoint.

    Returns:
        str | None: e.g. ``"is a folder, not a checkpoint file; give a
        checkpoint file in it, such as work/epoch_2.pth"``.
    """
    if not os.path.isdir(path):
        return None
    latest = _latest_checkpoint(path)
    hint = (f'give a checkpoint file in it, such as {latest}'
            if latest else 'it holds no checkpoint file (.pth)')
    return f'is a folder, not a checkpoint file; {hint}'


def load_checkpoint_file(path: str) -> Any:
    """Load ``path`` on the CPU without unpickling anything but weights.

    Args:
        path (str): A file written by ``torch.save``.

    Returns:
        Any: What the file holds (usually a dict).

    Raises:
        CheckpointError: If the file is missing, not a PyTorch checkpoint,
            truncated, or holds Python objects other than weights.
    """
    if not os.path.exists(path):
        raise CheckpointError('no such file')
    if os.path.isdir(path):
        raise CheckpointError(folder_problem(path))
    head = _sniff(path)
    if not head:
        raise CheckpointError('is empty, expected a checkpoint file')
    if not (head.startswith(_ZIP_MAGIC) or head.startswith(_PICKLE_MAGIC)):
        if head[8:9] == b'{':  # an 8-byte header length, then JSON
            raise CheckpointError(
                'is a safetensors file; expected a torch.save checkpoint '
                '(for timm weights, its pytorch_model.bin)')
        raise CheckpointError('is not a PyTorch checkpoint (torch.save '
                              'file); expected e.g. a .pth or .pth.tar')
    try:
        with warnings.catch_warnings():
            # e.g. "Detected pickle protocol 4": the error says enough
            warnings.simplefilter('ignore')
            return load_weights_only(path)
    except pickle.UnpicklingError as err:
        if 'Weights only load failed' not in str(err):
            raise CheckpointError(f'is corrupted ({err})') from err
        found = _UNSUPPORTED.search(str(err))
        detail = f' ({found.group(1)})' if found else ''
        raise CheckpointError(
            'holds Python objects other than weights, which weights-only '
            f'loading refuses to run{detail}; expected a checkpoint of '
            'tensors') from err
    except (EOFError, OSError, RuntimeError, KeyError, ValueError) as err:
        reason = f'{type(err).__name__}: {err}'.strip().rstrip(':')
        raise CheckpointError(
            'is truncated or corrupted (an interrupted download?); '
            f'torch.load failed with {reason.splitlines()[0]}') from err


def state_dict_of(checkpoint: Any) -> Mapping[str, Tensor]:
    """The weights a loaded checkpoint holds: its ``'state_dict'`` entry, or
    the checkpoint itself when that is a state dict (torch's ``_metadata``
    is kept, as BatchNorm loading reads its versions).

    Args:
        checkpoint (Any): What :func:`load_checkpoint_file` returned.

    Raises:
        CheckpointError: If there is no non-empty state dict of tensors.
    """
    expected = ("expected a state_dict of tensors or a dict with a "
                "'state_dict' entry")
    if not isinstance(checkpoint, Mapping):
        raise CheckpointError(
            f'holds a {type(checkpoint).__name__}; {expected}')
    state_dict = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state_dict, Mapping) or not state_dict:
        raise CheckpointError(f"has an empty or invalid 'state_dict'; "
                              f'{expected}')
    if not all(isinstance(v, Tensor) for v in state_dict.values()):
        keys = ', '.join(repr(k) for k in list(checkpoint)[:5])
        more = ', ...' if len(checkpoint) > 5 else ''
        raise CheckpointError(f'has no state_dict (top-level keys {keys}'
                              f'{more}); {expected}')
    return state_dict


def save_checkpoint(checkpoint: Dict, dst: str, force: bool = False) -> None:
    """Write ``checkpoint`` to ``dst`` through a temporary file.

    The temporary file lives in the destination folder (created if
    missing), so the final rename stays on one file system and is atomic.

    Args:
        checkpoint (dict): What to ``torch.save``.
        dst (str): Destination path.
        force (bool): Replace ``dst`` if it exists. Defaults to False.

    Raises:
        FileExistsError: If ``dst`` exists and ``force`` is False.
        IsADirectoryError: If ``dst`` is a directory.
    """
    if os.path.isdir(dst):
        raise IsADirectoryError(f'{dst}: is a directory, expected a file '
                                'name for the converted checkpoint')
    if os.path.exists(dst) and not force:
        raise FileExistsError(_exists_message(dst))
    try:
        with atomic_write(dst, 'wb', overwrite=force) as f:
            torch.save(checkpoint, f)
    except FileExistsError:  # dst appeared while writing
        raise FileExistsError(_exists_message(dst)) from None


def _exists_message(dst: str) -> str:
    return f'{dst}: already exists (overwrite it with --force)'
