"""Activation checkpointing as mmdet's residual blocks apply it."""
from typing import Callable

import torch.utils.checkpoint as cp
from torch import Tensor


def maybe_checkpoint(forward: Callable[[Tensor], Tensor], x: Tensor,
                     with_cp: bool) -> Tensor:
    """``forward(x)``, recomputed in backward instead of stored if asked.

    Checkpointing only pays off when a backward pass will run, so it is
    skipped when ``x`` needs no gradient (frozen stages, inference).

    Args:
        forward (Callable): The block's computation up to its last ReLU.
        x (Tensor): The block's input.
        with_cp (bool): The block's ``with_cp`` setting.
    """
    if with_cp and x.requires_grad:
        return cp.checkpoint(forward, x, use_reentrant=False)
    return forward(x)
