"""Random number generator states that travel with a checkpoint.

MMEngine re-seeds a resumed run from ``randomness.seed`` and so restarts
every generator from the beginning of its sequence: the resumed run draws
different flips (numpy) and different sampled RoIs (torch) than the
uninterrupted run would have. Saving the generators with the checkpoint
and restoring them on resume makes the two runs draw the same numbers.
"""
import random

import numpy as np
import torch


def capture_rng_state() -> dict:
    """The states of Python's, numpy's and torch's global generators.

    Returns:
        dict: ``python``, ``numpy``, ``torch`` and, once CUDA is in use,
        ``cuda`` (one state per device). Everything in it loads with
        ``torch.load(weights_only=True)`` after ``import mmdet_eca``.
    """
    state = dict(
        python=random.getstate(),
        numpy=np.random.get_state(),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict) -> None:
    """Set the global generators to a :func:`capture_rng_state` result.

    Args:
        state (dict): What :func:`capture_rng_state` returned; generators
            it lacks are left as they are.
    """
    if 'python' in state:
        version, internal, gauss = state['python']
        # pickling turns the inner tuple into whatever torch.load returns
        random.setstate((version, tuple(internal), gauss))
    if 'numpy' in state:
        np.random.set_state(tuple(state['numpy']))
    if 'torch' in state:
        torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])
