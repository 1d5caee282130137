"""ECA kernel sizes: the paper's adaptive rule, config values, and the
sizes a checkpoint holds.

Every backbone takes one odd kernel size per stage (``eca_kernel_sizes``
in a config), and a checkpoint's sizes are read off its tensors (the last
dimension of each ``layerX.Y.eca.conv.weight``), never off its file name.
"""
import math
import re
from typing import (Callable, Dict, Mapping, Optional, Sequence, Set, Tuple,
                    Union)

KernelSizes = Union[str, Sequence[int]]

_ECA_KEY = re.compile(r'^layer(\d+)\.\d+\.eca\.conv\.weight$')


def eca_kernel_size(channels: int, gamma: float = 2, beta: float = 1) -> int:
    """The paper's adaptive kernel size (Eq. 12) for ``channels`` channels.

    ``t = int(|(log2(C) + beta) / gamma|)``, rounded up to the next odd
    number when even. For C = 64, 128, 256, 512, 1024, 2048 this gives
    3, 5, 5, 5, 5, 7. Note that the released ImageNet weights do not follow
    it (their per-stage kernel sizes are part of their file names).

    Args:
        channels (int): Number of channels the attention runs across.
        gamma (float): Slope of the channel-to-kernel mapping. Defaults to 2.
        beta (float): Offset of the mapping (``b`` in the paper).
            Defaults to 1.

    Returns:
        int: An odd kernel size >= 1.
    """
    if not isinstance(channels, int) or channels < 1:
        raise ValueError(
            f'channels must be a positive int, got {channels!r}')
    t = int(abs((math.log2(channels) + beta) / gamma))
    return t if t % 2 else t + 1


def check_kernel_size(kernel_size) -> int:
    """Return ``kernel_size`` if it is a positive odd int, else raise.

    An even kernel cannot be zero-padded symmetrically, so the attention of
    channel c would no longer be centred on c.
    """
    if (isinstance(kernel_size, bool) or not isinstance(kernel_size, int)
            or kernel_size < 1 or kernel_size % 2 == 0):
        raise ValueError('ECA kernel size must be a positive odd int '
                         f'(1, 3, 5, ...), got {kernel_size!r}')
    return kernel_size


def parse_kernel_sizes(value: KernelSizes, stage_channels: Sequence[int],
                       gamma: float = 2,
                       beta: float = 1) -> Tuple[int, ...]:
    """Per-stage ECA kernel sizes from a config value.

    Args:
        value (str | Sequence[int]): One odd kernel size per stage, as a
            sequence (``(3, 5, 5, 7)``) or a digit string (``'3557'``), or
            ``'adaptive'`` for the paper's rule on each stage's channels.
        stage_channels (Sequence[int]): Channels the attention of each
            stage runs across.
        gamma (float): ``gamma`` of the adaptive rule. Defaults to 2.
        beta (float): ``b`` of the adaptive rule. Defaults to 1.

    Returns:
        tuple[int]: One kernel size per stage.
    """
    num_stages = len(stage_channels)
    expected = (f"{num_stages} odd kernel sizes (e.g. '3557' or (3, 5, 5, "
                "7)) or 'adaptive'")
    if isinstance(value, str):
        if value == 'adaptive':
            return tuple(
                eca_kernel_size(c, gamma, beta) for c in stage_channels)
        if not value.isdigit():
            raise ValueError(
                f'eca_kernel_sizes={value!r} is invalid: expected {expected}')
        sizes = tuple(int(ch) for ch in value)
    elif isinstance(value, Sequence):
        sizes = tuple(value)
    else:
        raise ValueError(
            f'eca_kernel_sizes={value!r} is invalid: expected {expected}')
    if len(sizes) != num_stages:
        raise ValueError(f'eca_kernel_sizes={value!r} has {len(sizes)} '
                         f'entries: expected {expected}')
    for k in sizes:
        try:
            check_kernel_size(k)
        except ValueError:
            raise ValueError(
                f'eca_kernel_sizes={value!r} contains {k!r}: expected '
                f'{expected}') from None
    return sizes


def format_kernel_sizes(sizes: Sequence[int]) -> str:
    """``(3, 5, 5, 7)`` -> ``'3557'`` (or ``'3,5,11,13'`` past one digit)."""
    if all(k < 10 for k in sizes):
        return ''.join(map(str, sizes))
    return ','.join(map(str, sizes))


def stage_of(key: str) -> Optional[int]:
    """The 0-based stage of a ResNet-style ``layerX.Y.eca.conv.weight``
    key (``layer1`` is 0), or None for any other key."""
    match = _ECA_KEY.match(key)
    return int(match.group(1)) - 1 if match else None


def stage_kernel_sizes(state_dict: Mapping, prefix: str = '',
                       position: Callable[[str], Optional[int]] = stage_of
                       ) -> Dict[int, Set[int]]:
    """The ECA kernel sizes a state dict holds, by config position.

    Args:
        state_dict (Mapping[str, Tensor]): Backbone weights.
        prefix (str): Only keys under it are read. Defaults to ''.
        position (Callable): The position in the backbone's
            ``eca_kernel_sizes`` of an ECA weight's key (prefix removed),
            None for other keys. Defaults to :func:`stage_of`.

    Returns:
        dict[int, set[int]]: For each position with ECA weights, the
        kernel sizes found there.
    """
    found: Dict[int, Set[int]] = {}
    for key, value in state_dict.items():
        at = position(key[len(prefix):]) if key.startswith(prefix) else None
        if at is not None:
            found.setdefault(at, set()).add(value.shape[-1])
    return found


def check_checkpoint_kernel_sizes(
        state_dict: Mapping, prefix: str, model_sizes: Sequence[int],
        position: Callable[[str], Optional[int]] = stage_of,
        name: Callable[[int], str] = lambda at: f'layer{at + 1}') -> None:
    """Fail with the file's kernel sizes instead of a size mismatch.

    MMEngine's non-strict loading (``init_cfg=dict(type='Pretrained')``)
    only logs a size mismatch and leaves the ECA weights at random, so the
    backbones call this from ``prepare_state_dict``, before any tensor
    is copied. Every backbone's ``eca_kernel_sizes`` is one size per
    position (a ResNet's stages, an EfficientNet's blocks).

    Args:
        state_dict (Mapping[str, Tensor]): What is being loaded.
        prefix (str): The backbone's prefix in it.
        model_sizes (Sequence[int]): The model's kernel size per position.
        position (Callable): As for :func:`stage_kernel_sizes`. Defaults
            to :func:`stage_of`.
        name (Callable): What the message calls a position. Defaults to
            the stage's ``layerX``.

    Raises:
        ValueError: Naming both sizes and the config setting to change.
    """
    found = stage_kernel_sizes(state_dict, prefix, position)
    count = len(model_sizes)
    mismatched = [
        at for at, ks in sorted(found.items())
        if at < count and ks != {model_sizes[at]}
    ]
    if not mismatched:
        return
    file_sizes = [
        '/'.join(map(str, sorted(found[at]))) if at in found else '?'
        for at in range(count)
    ]
    joined = ('' if all(len(k) == 1 for k in file_sizes) else ',').join(
        file_sizes)
    raise ValueError(
        'ECA kernel sizes differ between checkpoint and model: the '
        f"checkpoint has eca_kernel_sizes='{joined}', the model was "
        f"built with '{format_kernel_sizes(model_sizes)}' (first mismatch "
        f'in {name(mismatched[0])}); set '
        f"backbone.eca_kernel_sizes='{joined}' in the config")
