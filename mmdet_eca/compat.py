"""What differs between the torch and MMEngine versions mmdet-eca runs on.

Supported and tested: torch 2.1 (with mmcv 2.1.0 built against it: the
commonest MMDetection 3.x install, since OpenMMLab's prebuilt mmcv 2.1.0
wheels stop at torch 2.1) to 2.14 (mmcv 2.1.0 does not build against
2.15; docs/compatibility.md). Every name that moved between those
versions, and every private name of torch or MMEngine the package relies
on, lives here (and in ``packaging/mmdet_eca_scope.py``, which must not
import the package), so that a new release breaks one file;
``tests/test_compat.py`` runs on both ends (``make test`` and ``make
test-oldest-torch``).
"""
import _compat_pickle
import codecs
import collections
import contextlib
import functools
import pickle
from typing import Any, Callable, Dict, Iterable, Iterator, Optional, Tuple

import torch

#: ``torch.__version__`` as a comparable ``(major, minor)``.
TORCH_VERSION: Tuple[int, int] = tuple(
    int(part) for part in torch.__version__.split('+')[0].split('.')[:2])

# --- whether something records the model ----------------------------------

if hasattr(torch.compiler, 'is_compiling'):  # torch >= 2.3
    is_compiling: Callable[[], bool] = torch.compiler.is_compiling
else:  # pragma: no cover  (torch 2.1/2.2; tested by make test-oldest-torch)
    # Dynamo answers True for it while tracing, like for
    # torch._dynamo.is_compiling, whose import takes seconds.
    from torch._utils import is_compiling  # noqa: F401

try:  # torch >= 2.3 tells fx's symbolic tracing apart from torch.export
    from torch.fx._symbolic_trace import \
        is_fx_symbolic_tracing as is_fx_tracing
except ImportError:  # pragma: no cover  (torch 2.1/2.2)
    from torch.fx._symbolic_trace import is_fx_tracing  # noqa: F401

try:  # torch >= 2.9: the flags torch.onnx.is_in_onnx_export() reads,
    # imported once here: the public function imports them on every call,
    # a few times per ECA block
    from torch.onnx._internal.exporter import _flags as _onnx_flags
    from torch.onnx._internal.torchscript_exporter._globals import \
        GLOBALS as _onnx_globals
    bool(_onnx_flags._is_onnx_exporting or _onnx_globals.in_onnx_export)

    def is_onnx_exporting() -> bool:
        """Whether either ONNX exporter is running."""
        return _onnx_flags._is_onnx_exporting or _onnx_globals.in_onnx_export
except (ImportError, AttributeError):  # pragma: no cover  (older torch)
    is_onnx_exporting = torch.onnx.is_in_onnx_export


def _mean_keeps_its_input() -> bool:
    import weakref
    x = torch.ones(1, 1, 2, 2, requires_grad=True) * 1
    kept = weakref.ref(x)
    pooled = x.mean((2, 3))  # noqa: F841  (its graph is what is probed)
    del x
    return kept() is not None


#: Whether ``Tensor.mean``'s backward keeps its input alive (torch 2.1; by
#: 2.13 it keeps only the shape): an ECA pooling with it would keep the
#: features its scaling takes care not to keep.
MEAN_KEEPS_ITS_INPUT: bool = _mean_keeps_its_input()


def cpu_autocast_supported(dtype: torch.dtype, device: str = 'cpu') -> bool:
    """Whether ``torch.autocast(device, dtype=dtype)`` runs convolutions in
    ``dtype`` here (torch 2.1's CPU autocast takes bfloat16 only)."""
    try:
        with torch.autocast(torch.device(device).type, dtype=dtype):
            y = torch.nn.functional.conv2d(
                torch.ones(1, 1, 2, 2, device=device),
                torch.ones(1, 1, 1, 1, device=device))
        return y.dtype == dtype
    except RuntimeError:
        return False


def grad_scaler(device_type: str, enabled: bool = True):
    """A gradient scaler for mixed precision on ``device_type``:
    ``torch.amp.GradScaler`` (torch >= 2.3), before it
    ``torch.cuda.amp.GradScaler``, for CUDA only."""
    if hasattr(torch.amp, 'GradScaler'):
        return torch.amp.GradScaler(device_type, enabled=enabled)
    return torch.cuda.amp.GradScaler(  # pragma: no cover  (torch 2.1/2.2)
        enabled=enabled and device_type == 'cuda')


# --- module state-dict hooks ----------------------------------------------


def register_state_dict_post_hook(module: torch.nn.Module,
                                  hook: Callable) -> None:
    """``module.register_state_dict_post_hook(hook)``, whose public name
    torch 2.1 lacks; ``hook(module, state_dict, prefix, local_metadata)``
    runs after the module's entries are written."""
    if hasattr(module, 'register_state_dict_post_hook'):
        module.register_state_dict_post_hook(hook)
    else:  # pragma: no cover  (torch 2.1; tested by make test-oldest-torch)
        module._register_state_dict_hook(hook)


def register_load_state_dict_pre_hook(module: torch.nn.Module,
                                      hook: Callable) -> None:
    """``module.register_load_state_dict_pre_hook(hook)``, whose public
    name torch 2.1 lacks; ``hook(module, state_dict, prefix,
    local_metadata, strict, missing_keys, unexpected_keys, error_msgs)``
    runs before the module loads its own entries (and may rename or check
    them)."""
    if hasattr(module, 'register_load_state_dict_pre_hook'):
        module.register_load_state_dict_pre_hook(hook)
    else:  # pragma: no cover  (torch 2.1)
        module._register_load_state_dict_pre_hook(hook, with_module=True)


# --- ONNX export -----------------------------------------------------------

#: Whether ``torch.onnx.export`` takes ``dynamo=`` (torch >= 2.5); before,
#: it always ran the TorchScript exporter.
ONNX_EXPORT_HAS_DYNAMO = TORCH_VERSION >= (2, 5)


def onnx_export(model: torch.nn.Module, args: tuple, path: str, *,
                dynamo: bool = False, **kwargs: Any) -> None:
    """``torch.onnx.export`` with the exporter chosen the same way on every
    torch: ``dynamo=False`` is the TorchScript exporter (mmdeploy's), which
    is the default before torch 2.9 and the only one before 2.5.

    Args:
        model (nn.Module): The model.
        args (tuple): Its inputs.
        path (str): The ONNX file to write.
        dynamo (bool): Use the ``torch.export``-based exporter. Defaults to
            False.
        **kwargs: Further arguments of ``torch.onnx.export``.

    Raises:
        RuntimeError: ``dynamo=True`` on a torch without that exporter in
            ``torch.onnx.export``.
    """
    if ONNX_EXPORT_HAS_DYNAMO:
        torch.onnx.export(model, args, path, dynamo=dynamo, **kwargs)
    elif dynamo:
        raise RuntimeError(
            f'the dynamo ONNX exporter needs torch >= 2.5 (this is torch '
            f'{torch.__version__}); export without --dynamo')
    else:
        torch.onnx.export(model, args, path, **kwargs)


@contextlib.contextmanager
def torchscript_onnx_export() -> Iterator[None]:
    """Meanwhile, ``torch.onnx.export`` called without ``dynamo=`` runs the
    TorchScript exporter, as it did before torch 2.9.

    mmdeploy 1.3 calls ``torch.onnx.export`` without ``dynamo=``; since
    torch 2.9 that runs the ``torch.export``-based exporter, under which
    mmdeploy's own rewriters fail, for MMDetection's stock detectors too
    (``torch._shape_as_tensor`` in its single-stage rewrite, then
    ``KeyError: -1`` in its function rewriter). Not thread-safe: it swaps
    the module attribute that mmdeploy looks up.
    """
    if not ONNX_EXPORT_HAS_DYNAMO:
        yield
        return
    original = torch.onnx.export

    @functools.wraps(original)
    def export(*args, **kwargs):
        kwargs.setdefault('dynamo', False)
        return original(*args, **kwargs)

    torch.onnx.export = export
    try:
        yield
    finally:
        torch.onnx.export = original


# --- checkpoints --------------------------------------------------------


#: Whether ``torch.load(weights_only=True)`` takes an allow-list (torch >=
#: 2.4). Before, its unpickler refuses every class but tensors and
#: OrderedDict, so no MMEngine checkpoint (log buffers, numpy scalars)
#: loads weights-only there, and :func:`load_weights_only` restricts
#: Python's own unpickler instead.
TORCH_HAS_SAFE_GLOBALS = hasattr(torch.serialization, 'add_safe_globals')

# The allow-list of torch < 2.4, by the name a pickle uses.
_allowed_globals: Dict[str, Any] = {}


def _name_of(entry) -> Tuple[Any, str]:
    if isinstance(entry, tuple):
        return entry
    return entry, f'{entry.__module__}.{entry.__qualname__}'


def add_safe_globals(entries: Iterable) -> bool:
    """Allow-list ``entries`` for :func:`load_weights_only`.

    Args:
        entries (Iterable): Objects, or ``(object, 'module.name')`` pairs
            for objects a pickle names differently.

    Returns:
        bool: Whether torch's own allow-list took them (torch >= 2.4, so
        that a plain ``torch.load(weights_only=True)``, MMEngine's on
        torch >= 2.6, reads them too); else :func:`load_weights_only`'s.
    """
    entries = list(entries)
    if not TORCH_HAS_SAFE_GLOBALS:
        _allowed_globals.update(
            (name, obj) for obj, name in map(_name_of, entries))
        return False
    if TORCH_VERSION < (2, 5):  # no (object, name) pairs before 2.5
        entries = [e for e in entries if not isinstance(e, tuple)]
    torch.serialization.add_safe_globals(entries)
    return True


@functools.lru_cache(maxsize=None)
def _torch_safe_globals() -> Dict[str, Any]:
    """What torch < 2.4 loads weights-only, and what later torch allows
    beyond that by default (containers, devices, every dtype)."""
    from torch import _weights_only_unpickler
    allowed = dict(_weights_only_unpickler._get_allowed_globals())
    for obj in (collections.Counter, collections.OrderedDict, torch.device,
                set, frozenset, bytearray, codecs.encode):
        allowed['_codecs.encode' if obj is codecs.encode else
                f'{obj.__module__}.{obj.__qualname__}'] = obj
    allowed.update((str(t), t) for t in vars(torch).values()
                   if isinstance(t, torch.dtype))
    return allowed


class _RestrictedUnpickler(pickle.Unpickler):
    """Python's unpickler that looks up allow-listed globals only, the
    safeguard the Python documentation gives ("Restricting Globals"); torch
    resolves its storages before asking it."""

    def find_class(self, module, name):
        # protocol 2 (torch.save's) names builtins as Python 2 did
        module, name = _compat_pickle.NAME_MAPPING.get((module, name),
                                                       (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        full = f'{module}.{name}'
        found = _allowed_globals.get(full, _torch_safe_globals().get(full))
        if found is None:
            raise pickle.UnpicklingError(
                f'Weights only load failed: Unsupported global: GLOBAL '
                f'{full}')
        return found


class _RestrictedPickle:
    """A ``pickle_module`` for ``torch.load`` that unpickles restricted."""
    Unpickler = _RestrictedUnpickler
    __name__ = 'mmdet_eca.compat._RestrictedPickle'

    @staticmethod
    def load(file, **kwargs):
        return _RestrictedUnpickler(file, **kwargs).load()


def load_weights_only(path: str, map_location: Any = 'cpu') -> Any:
    """``torch.load(path, weights_only=True)`` with the allow-list of
    :func:`add_safe_globals`, on every torch.

    Raises:
        pickle.UnpicklingError: A global outside the allow-list; the
            message starts "Weights only load failed" on every torch.
    """
    if TORCH_HAS_SAFE_GLOBALS:
        return torch.load(path, map_location=map_location, weights_only=True)
    return torch.load(path, map_location=map_location, weights_only=False,
                      pickle_module=_RestrictedPickle)


# --- MMEngine ----------------------------------------------------------------


def numpy_pickle_globals() -> Tuple[Callable, type]:
    """``(multiarray._reconstruct, multiarray.scalar)``, the globals a
    pickled numpy array or scalar names, from ``numpy._core`` since numpy 2
    (numpy 1.26 has a ``_core`` stub without ``multiarray``; the torch 2.1
    stack runs numpy 1)."""
    import numpy as np
    if np.lib.NumpyVersion(np.__version__) >= '2.0.0':
        core = np._core
    else:
        core = np.core
    return core.multiarray._reconstruct, core.multiarray.scalar


def checkpoint_hook_with_save_step():
    """MMEngine's ``CheckpointHook`` with its per-step save under a public
    name, ``save_step(runner, step, meta)``: MMEngine 0.10 calls the
    private ``_save_checkpoint_with_step`` for interval, last and best
    saves alike, the one place to change how a checkpoint is written."""
    from mmengine.hooks import CheckpointHook

    class StepCheckpointHook(CheckpointHook):

        def _save_checkpoint_with_step(self, runner, step, meta):
            self.save_step(runner, step, meta)

        def save_step(self, runner, step, meta) -> None:
            """Save the checkpoint of ``step`` as MMEngine does."""
            super()._save_checkpoint_with_step(runner, step, meta)

    return StepCheckpointHook


def runner_load_request(runner) -> Tuple[Optional[str], bool]:
    """``(load_from, resume)`` as the Runner was built with them, which
    MMEngine 0.10 keeps private (``_load_from``, ``_resume``) and reads
    in ``load_or_resume``; ``runner.cfg`` holds them only for a Runner built
    from a config."""
    return runner._load_from, bool(runner._resume)


def accumulative_counts(wrapper) -> int:
    """An ``OptimWrapper``'s gradient accumulation, which MMEngine 0.10
    keeps private (``_accumulative_counts``)."""
    return wrapper._accumulative_counts


def copy_state_dict_metadata(source: Any, target: Any) -> None:
    """Give ``target`` the per-module metadata of the state dict
    ``source`` (``state_dict()._metadata``: the versions BatchNorm's
    loading reads, identity mode's gate), if it has any."""
    metadata = getattr(source, '_metadata', None)
    if metadata is not None:
        target._metadata = metadata


def register_config_package(module: str,
                            distribution: Optional[str] = None) -> None:
    """Let MMEngine configs inherit ``<module>::<folder>/<file>.py``.

    MMEngine resolves ``pkg::path`` only for packages in its table
    ``mmengine.config.utils.MODULE2PACKAGE`` (OpenMMLab's own), and then
    reads the file from the installed package's ``.mim/configs/``.

    Args:
        module (str): The import name, e.g. ``'mmdet_eca'``.
        distribution (str, optional): The name pip knows the package by.
            Defaults to ``module``.
    """
    from mmengine.config import utils
    utils.MODULE2PACKAGE.setdefault(module, distribution or module)
