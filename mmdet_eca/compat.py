"""What differs between the torch and MMEngine versions mmdet-eca runs on.

Supported and tested: torch 2.1 (with mmcv 2.1.0 built against it: the
commonest MMDetection 3.x install, since OpenMMLab's prebuilt mmcv 2.1.0
wheels stop at torch 2.1) to the newest the project's CI installs. Every
name that moved between those versions, and every private name of torch or
MMEngine the package relies on, lives here and nowhere else, so that a new
release breaks one file; ``tests/test_compat.py`` runs on both ends
(``make test`` and ``make test-oldest-torch``).
"""
import contextlib
import functools
from typing import Any, Callable, Iterable, Iterator, Optional, Tuple

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
    from torch._utils import is_compiling

try:  # torch >= 2.3 tells fx's symbolic tracing apart from torch.export
    from torch.fx._symbolic_trace import \
        is_fx_symbolic_tracing as is_fx_tracing
except ImportError:  # pragma: no cover  (torch 2.1/2.2)
    from torch.fx._symbolic_trace import is_fx_tracing

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


def add_safe_globals(entries: Iterable) -> bool:
    """Allow-list ``entries`` for ``torch.load(weights_only=True)``.

    Args:
        entries (Iterable): Objects, or ``(object, 'module.name')`` pairs
            for objects a pickle names differently.

    Returns:
        bool: False on torch < 2.4, which has no allow-list: there
        ``torch.load`` defaults to ``weights_only=False`` and needs none.
    """
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:
        return False
    entries = list(entries)
    if TORCH_VERSION < (2, 5):  # no (object, name) pairs before 2.5
        entries = [e for e in entries if not isinstance(e, tuple)]
    add(entries)
    return True


# --- MMEngine ----------------------------------------------------------------


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
