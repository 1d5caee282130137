"""Renaming foreign keys while a backbone loads its state dict.

The backbones register :func:`prepare_before_load` as a load pre-hook,
which calls their ``prepare_state_dict`` (renaming with
:func:`rename_under_prefix`, checking kernel sizes and stems) before they
load their own entries, so ``init_cfg=dict(type='Pretrained',
checkpoint=...)`` can point at an unconverted official or timm file.
"""
from typing import Callable, Dict, List, Mapping, Tuple

from torch import Tensor, nn

from ..compat import register_load_state_dict_pre_hook

StateDict = Dict[str, Tensor]


def rename_under_prefix(
        state_dict: StateDict, prefix: str,
        is_layout: Callable[[Mapping[str, Tensor]], bool],
        convert: Callable[[StateDict], Tuple[StateDict, List[str]]]) -> bool:
    """Convert, in place, the keys of ``state_dict`` under ``prefix``.

    Args:
        state_dict (dict[str, Tensor]): What ``load_state_dict`` passes to
            the backbone's load pre-hooks; changed in place.
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


def prepare_before_load(module: nn.Module, state_dict, prefix: str,
                        *args) -> None:
    """Load pre-hook: ``module.prepare_state_dict(state_dict, prefix)``.

    A function of the module's module, not a lambda, so that the models
    holding it still pickle.
    """
    module.prepare_state_dict(state_dict, prefix)


def add_prepare_hook(module: nn.Module) -> None:
    """Have ``module.prepare_state_dict`` see every state dict it loads."""
    register_load_state_dict_pre_hook(module, prepare_before_load)
