"""When the fused ECA computation may run, and when the paper's must.

The fused block tail (:mod:`.eca_residual`) gets its speed from eager-mode
tricks: kernels called with ``out=`` into views, custom autograd functions
that hand-write a backward, choices that depend on the feature map's size.
Tools that record a model's operations to replay them elsewhere do not all
see those tricks: the TorchScript ONNX exporter does not see the kernel's
``out=`` write, so it stores the attended features of the export's own
input as a constant and the file computes ``constant + shortcut`` (78% off
for a small ECA-ResNet-50 in onnxruntime); ``torch.fx`` cannot branch on
the dtype or size of a symbolic tensor; a traced size choice is frozen
into the graph. So the model computes ECA the paper's way (pool, 1-D
convolution, sigmoid, multiply) whenever it is being recorded; those
graphs then hold only standard operations (``ReduceMean``, ``Conv``,
``Sigmoid``, ``Mul``, ``Add`` in ONNX), which their compilers fuse anyway.
Both forms give the same values up to rounding.
"""
import contextlib
from typing import Iterator

import torch
from torch import Tensor, nn
from torch.nn.modules import module as _module

from ..compat import is_compiling, is_fx_tracing, is_onnx_exporting

_fused_enabled = True


@contextlib.contextmanager
def fused_eca(enabled: bool) -> Iterator[None]:
    """Allow (the default) or forbid the fused computation meanwhile.

    With ``fused_eca(False)`` every ECA block computes the paper's
    formulation, also in eager mode: for comparing the two forms'
    speed (``tools/benchmark_cuda.py``) or ruling the fused one out when
    debugging. Not thread-local.

    Args:
        enabled (bool): Whether eager ECA blocks may take the fused form.
    """
    global _fused_enabled
    previous, _fused_enabled = _fused_enabled, enabled
    try:
        yield
    finally:
        _fused_enabled = previous


def is_recording() -> bool:
    """Whether a tracer, exporter or compiler is recording the model.

    True under ``torch.jit.trace``/``torch.jit.script``, both ONNX
    exporters (``torch.onnx.export`` with ``dynamo=False`` or ``True``),
    ``torch.fx.symbolic_trace``, ``torch.compile`` and ``torch.export``.
    """
    # Cheapest first; in eager mode all of them are asked.
    return (torch.jit.is_scripting() or torch.jit.is_tracing()
            or is_compiling() or is_fx_tracing() or is_onnx_exporting())


def fused_eca_allowed(x: Tensor) -> bool:
    """Whether the fused ECA computation may run on the activation ``x``.

    Only in eager PyTorch on a plain tensor, unless forbidden by
    :func:`fused_eca`: not while anything records
    the model (:func:`is_recording`), and not on proxies or tensor
    subclasses (``torch.fx`` proxies, the fake and functional tensors of
    ``torch.export``, DTensor), whose operations may be recorded or
    redefined too.

    Args:
        x (Tensor): An activation of the block, e.g. its last conv's output.
    """
    # is_recording() first: torch 2.1's dynamo refuses type() on a tensor
    return _fused_enabled and not is_recording() and type(x) is Tensor


# Hooks that a module call would run. The fast paths compute a layer without
# calling it, so they only apply when nobody is watching (feature extractors,
# FLOP counters and the like see the layer as usual).
_GLOBAL_HOOKS = ('_global_forward_hooks', '_global_forward_pre_hooks',
                 '_global_backward_hooks', '_global_backward_pre_hooks')
_MODULE_HOOKS = ('_forward_hooks', '_forward_pre_hooks', '_backward_hooks',
                 '_backward_pre_hooks')


def has_hooks(module: nn.Module) -> bool:
    """Whether calling ``module`` would run a hook, its own or a global
    one, which a fast path that bypasses the call would skip."""
    return any(getattr(module, name, None) for name in _MODULE_HOOKS) or any(
        getattr(_module, name, None) for name in _GLOBAL_HOOKS)
