"""Random number generator states that travel with a checkpoint.

MMEngine re-seeds a resumed run from ``randomness.seed`` and so restarts
every generator from the beginning of its sequence: the resumed run draws
different flips (numpy) and different sampled RoIs (torch) than the
uninterrupted run would have. Saving the generators with the checkpoint
and restoring them on resume makes the two runs draw the same numbers.
"""
import random
from typing import Optional

import numpy as np
import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook


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


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save the random generators with every checkpoint; restore them when
    a single-process run resumes, so it continues bit for bit.

    The states go to ``meta['rng_state']``. They are restored at
    ``before_train``, after MMEngine's resume has re-seeded the run. With
    several processes each rank's generators differ and only rank 0 saves,
    so they are re-seeded as MMEngine does. Bit-equal weights also need
    the same thread count and no validation between the checkpoint and the
    end of the comparison (a validation data loader draws its seed from
    torch's global generator). Configs select it with::

        custom_hooks = [dict(type='RandomStateHook')]
    """

    priority = 'VERY_LOW'  # restore after other hooks' before_train

    def __init__(self) -> None:
        self._loaded: Optional[tuple] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})['rng_state'] = capture_rng_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        meta = checkpoint.get('meta') or {}
        if 'rng_state' in meta:
            self._loaded = (meta.get('iter'), meta['rng_state'])

    def before_train(self, runner) -> None:
        # A checkpoint loaded at the iteration the run now starts from was
        # resumed; one loaded for fine-tuning starts at 0 and is left be.
        if self._loaded is None:
            return
        saved_iter, state = self._loaded
        self._loaded = None
        if runner.iter == 0 or saved_iter != runner.iter:
            return
        if runner.world_size > 1:
            runner.logger.info('Several processes: the random generators '
                               'are seeded anew, not restored from the '
                               'checkpoint')
            return
        restore_rng_state(state)
        runner.logger.info('Restored the random generators of the checkpoint')
