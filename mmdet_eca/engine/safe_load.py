"""Load MMEngine checkpoints with ``torch.load(weights_only=True)``.

Since torch 2.6, ``torch.load`` only unpickles tensors, containers and
allow-listed types, and MMEngine 0.10.7 calls it without ``weights_only``.
Resuming or testing from any MMEngine-saved checkpoint then fails with
"Unsupported global: GLOBAL mmengine.logging.history_buffer.HistoryBuffer".
Rather than turning that safety off, this allow-lists exactly the globals
MMEngine and MMDetection put into their checkpoints: the message hub's
``HistoryBuffer``, the numpy arrays, dtypes and scalars it holds, and
``getattr``, with which pickle protocol 2 refers to the ``HistoryBuffer``
methods kept in each buffer. ``getattr`` only looks attributes up: the
weights-only unpickler still refuses to call anything not allow-listed.
"""
import builtins

import numpy as np
import torch


def _numpy_globals():
    core = getattr(np, '_core', None) or np.core  # numpy 2 renamed core
    found = [core.multiarray._reconstruct, core.multiarray.scalar,
             np.ndarray, np.dtype]
    # numpy >= 1.25 pickles each dtype as its own class (Float64DType, ...)
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        found += [
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType') and name != 'StringDType'
            and isinstance(getattr(dtypes, name), type)
        ]
    return found


def checkpoint_safe_globals():
    """The globals MMEngine/MMDetection checkpoints need beyond torch's."""
    from mmengine.logging.history_buffer import HistoryBuffer
    return [HistoryBuffer, builtins.getattr] + _numpy_globals()


def allow_mmengine_checkpoints() -> None:
    """Allow-list :func:`checkpoint_safe_globals` for ``torch.load``."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:  # torch < 2.4 loads everything anyway
        add(checkpoint_safe_globals())
