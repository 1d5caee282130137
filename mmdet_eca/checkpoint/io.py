"""Reading checkpoints safely and writing them atomically.

Files are read with ``torch.load(..., weights_only=True)``: tensors and
plain containers only, so a downloaded file can never run code here.
Output goes to a temporary file next to the destination and is renamed
into place, so an interrupted run never leaves a half-written checkpoint.
"""
import os
import pickle
import re
import secrets
import warnings
from typing import Any, Dict, Tuple

import torch

from ..errors import CheckpointError

_ZIP_MAGIC = b'PK\x03\x04'  # torch.save's default (zip) format
_PICKLE_MAGIC = b'\x80'  # legacy torch.save format: a pickle stream
_UNSUPPORTED = re.compile(r'Unsupported (?:global: GLOBAL )?([\w.]+(?: \d+)?)')


def _sniff(path: str) -> bytes:
    with open(path, 'rb') as f:
        return f.read(16)


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
        raise CheckpointError('is a directory, expected a checkpoint file')
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
            return torch.load(path, map_location='cpu', weights_only=True)
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
    folder = os.path.dirname(os.path.abspath(dst))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = _create_temporary(folder, os.path.basename(dst))
    try:
        with os.fdopen(fd, 'wb') as f:
            torch.save(checkpoint, f)
            f.flush()
            os.fsync(f.fileno())
        if force:
            os.replace(tmp, dst)
        else:
            _move_no_clobber(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _create_temporary(folder: str, name: str) -> Tuple[int, str]:
    """Create ``folder/.name.<random>.tmp``; returns (fd, path).

    Unlike ``tempfile.mkstemp`` (always mode 0600), this honours the
    umask, so the renamed checkpoint gets the permissions of any file the
    user creates.
    """
    while True:
        path = os.path.join(folder, f'.{name}.{secrets.token_hex(4)}.tmp')
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                           0o666), path
        except FileExistsError:
            continue


def _exists_message(dst: str) -> str:
    return f'{dst}: already exists (overwrite it with --force)'


def _move_no_clobber(tmp: str, dst: str) -> None:
    """Rename ``tmp`` to ``dst`` unless ``dst`` appeared in the meantime."""
    try:
        # Unlike a rename, a hard link fails if dst exists.
        os.link(tmp, dst)
    except FileExistsError:
        raise FileExistsError(_exists_message(dst)) from None
    except OSError:  # a file system without hard links
        if os.path.exists(dst):
            raise FileExistsError(_exists_message(dst)) from None
        os.replace(tmp, dst)
