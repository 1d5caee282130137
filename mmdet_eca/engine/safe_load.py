"""Load MMEngine checkpoints with ``torch.load(weights_only=True)``.

Since torch 2.6, ``torch.load`` only unpickles tensors, containers and
allow-listed globals, and MMEngine 0.10.7 calls it without ``weights_only``,
so resuming or testing from any MMEngine-saved checkpoint fails with
"Unsupported global: GLOBAL mmengine.logging.history_buffer.HistoryBuffer".
Rather than turning that safety off, this allow-lists exactly what MMEngine
and MMDetection put into a checkpoint beyond torch's own types:

* ``HistoryBuffer``, the message hub's log buffers;
* numpy arrays and scalars (the buffers' contents, ``eta``, the random
  state this package saves) with their dtypes, limited to booleans,
  numbers and fixed-width strings: an object dtype would unpickle arbitrary
  Python objects, so it stays refused;
* ``getattr``, but only as the restricted stand-in
  :func:`history_buffer_method`: each buffer pickles its statistics methods
  (``min``, ``max``, ``current``, ``mean``) as ``getattr(HistoryBuffer,
  name)``, and ``HistoryBuffer.__setstate__`` copies what it gets into a
  class-wide table that logging later calls. The real ``getattr`` would let
  a crafted file put any attribute reachable from these types there.

The dataset meta (class names, palette), config text, optimizer and
scheduler states are plain containers, strings and numbers (and
``collections.Counter``, which torch allows), so they need nothing more.
"""
import pickle
from typing import List

import numpy as np

from ..compat import (TORCH_HAS_SAFE_GLOBALS, add_safe_globals,
                      numpy_pickle_globals)

# The statistics HistoryBuffer registers on itself; a checkpoint names them.
HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')

# dtype chars: bool, (un)signed ints, floats, complex, str and bytes
_PLAIN_DTYPES = '?bBhHiIlLqQefdgFDGUS'


def history_buffer_method(owner, name: str):
    """``getattr`` as checkpoints use it, and nothing more.

    Args:
        owner: Must be MMEngine's ``HistoryBuffer`` class.
        name (str): One of :data:`HISTORY_BUFFER_STATISTICS`.

    Returns:
        The ``HistoryBuffer`` method of that name.

    Raises:
        pickle.UnpicklingError: For any other lookup.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    if owner is not HistoryBuffer or name not in HISTORY_BUFFER_STATISTICS:
        raise pickle.UnpicklingError(
            f'refused getattr({owner!r}, {name!r}): checkpoints may only '
            'refer to the HistoryBuffer statistics '
            f"{', '.join(HISTORY_BUFFER_STATISTICS)}")
    return getattr(HistoryBuffer, name)


def plain_numpy_dtype(*args, **kwargs) -> np.dtype:
    """``numpy.dtype`` as checkpoints use it, and nothing more.

    Raises:
        pickle.UnpicklingError: For a dtype other than booleans, numbers
            and fixed-width strings (an object dtype unpickles arbitrary
            Python objects).
    """
    dtype = np.dtype(*args, **kwargs)
    if dtype.char not in _PLAIN_DTYPES:
        raise pickle.UnpicklingError(
            f'refused numpy dtype {dtype!r}: checkpoints may only hold '
            'arrays of booleans, numbers and strings')
    return dtype


def _numpy_globals() -> List:
    reconstruct, scalar = numpy_pickle_globals()
    # torch >= 2.4 refuses the dtype classes left out below itself; for
    # the loading that stands in for it on older torch, numpy.dtype checks
    found = [reconstruct, scalar, np.ndarray,
             np.dtype if TORCH_HAS_SAFE_GLOBALS else
             (plain_numpy_dtype, 'numpy.dtype')]
    # pickles written under numpy 1 name numpy.core, under numpy 2
    # numpy._core: either loads under either
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        found += [(reconstruct, f'{module}._reconstruct'),
                  (scalar, f'{module}.scalar')]
    # Unpickling a dtype builds an instance of its class (Float64DType, or
    # dtype[float64] before numpy 1.25), which must be allowed too.
    found += sorted({type(np.dtype(char))
                     for char in _PLAIN_DTYPES}, key=str)
    return found


def checkpoint_safe_globals() -> List:
    """The globals MMEngine/MMDetection checkpoints need beyond torch's.

    Returns:
        list: Entries for ``torch.serialization.add_safe_globals``: objects,
        or ``(object, 'module.name')`` pairs for objects a pickle names
        differently.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    return [HistoryBuffer, (history_buffer_method, 'builtins.getattr')
            ] + _numpy_globals()


def allow_mmengine_checkpoints() -> None:
    """Allow-list :func:`checkpoint_safe_globals` for ``torch.load``."""
    add_safe_globals(checkpoint_safe_globals())
