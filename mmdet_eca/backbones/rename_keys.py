"""Renaming foreign keys while a backbone loads its state dict.

The backbones call :func:`rename_under_prefix` from
``_load_from_state_dict``, so ``init_cfg=dict(type='Pretrained',
checkpoint=...)`` can point at an unconverted official or timm file.
"""
from typing import Callable, Dict, List, Mapping, Tuple

from torch import Tensor

StateDict = Dict[str, Tensor]


def rename_under_prefix(
        state_dict: StateDict, prefix: str,
        is_layout: Callable[[Mapping[str, Tensor]], bool],
        convert: Callable[[StateDict], Tuple[StateDict, List[str]]]) -> bool:
    """Convert, in place, the keys of ``state_dict`` under ``prefix``.

    Args:
        state_dict (dict[str, Tensor]): What ``load_state_dict`` passes to
            ``_load_from_state_dict``; changed in place.
        prefix (str): The loading module's prefix.
        is_layout (Callable): Whether the keys (prefix removed) are in the
            foreign layout.
        convert (Callable): The key mapping, returning
            ``(state_dict, unconverted)``.

    Returns:
        bool: Whether anything was renamed. Unconverted keys (such as a
        classifier) are kept, so loading still reports them as unexpected.
    """
    local = {
        k[len(prefix):]: v
        for k, v in state_dict.items() if k.startswith(prefix)
    }
    if not local or not is_layout(local):
        return False
    converted, unconverted = convert(local)
    for key in local:
        del state_dict[prefix + key]
    state_dict.update((prefix + k, v) for k, v in converted.items())
    state_dict.update((prefix + k, local[k]) for k in unconverted)
    return True
