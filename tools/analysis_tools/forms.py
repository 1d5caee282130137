"""Every family's ECA form next to the paper's, for the tests and the CUDA
check (``tests/test_layers/test_eca_forms.py``, ``tools/check_cuda.py``).

:data:`FAMILIES` builds each model ECA ships in (``width`` scales the
channels; 1 is the real width), :func:`run_model` runs one in a mode and
returns its outputs and every gradient, and :func:`form_errors` compares a
model's own forms with the same model under
:func:`~.paper_eca.paper_formulation`.
"""
import contextlib
import copy
from typing import Callable, Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from mmdet.models.backbones import ResNet

from mmdet_eca.backbones import (ECACSPDarknet, ECACSPNeXt, ECAEfficientNet,
                                 ECAMobileNetV2, ECAResNet, fuse_eca_plugins)
from mmdet_eca.layers import ECA, ECAModule, eca_plugins
from mmdet_eca.necks import ECAFPN

from .paper_eca import paper_formulation

MODES = ('eval', 'frozen_bn', 'train')


def plugin_resnet(width: float = 0.125, fused: bool = False, cls=ResNet,
                  **kwargs) -> nn.Module:
    """MMDetection's ResNet-50 with the ECA plugin after every conv3
    (``fused``: given ECAResNet's tail, as the configs' hook does)."""
    # the class itself as the type: no default scope needed
    plugins = [dict(p, cfg=dict(p['cfg'], type=ECA))
               for p in eca_plugins((3, 5, 5, 7))]
    model = cls(depth=50, base_channels=int(64 * width), out_indices=(1, 3),
                plugins=plugins, **kwargs)
    if fused:
        fuse_eca_plugins(model)
    return model


def _channels(width: float, c: int) -> int:
    return max(8, int(c * width))


FAMILIES: Dict[str, Callable[[float], nn.Module]] = {
    'resnet18': lambda w: ECAResNet(18, base_channels=_channels(w, 64),
                                    out_indices=(1, 3)),
    'resnet50': lambda w: ECAResNet(50, base_channels=_channels(w, 64),
                                    out_indices=(1, 3)),
    'plugin': lambda w: plugin_resnet(w),
    'plugin-fused': lambda w: plugin_resnet(w, fused=True),
    'mobilenetv2': lambda w: ECAMobileNetV2(widen_factor=max(w, 0.25),
                                            out_indices=(1, 2, 4, 7)),
    'efficientnet': lambda w: ECAEfficientNet('b0', out_indices=(2, 3)),
    'cspnext': lambda w: ECACSPNeXt(deepen_factor=0.167,
                                    widen_factor=max(w, 0.25)),
    'cspdarknet': lambda w: ECACSPDarknet(deepen_factor=0.33,
                                          widen_factor=max(w, 0.25)),
    'neck': lambda w: ECAFPN(in_channels=[3, 3],
                             out_channels=_channels(w, 256), num_outs=3),
}


def family_input(family: str, batch: int, size: int,
                 **kwargs) -> object:
    """A seeded input of ``family``: an image batch, or two levels for the
    neck. CSPDarknet's Focus stem takes even sizes only."""
    if family == 'cspdarknet':
        size += size % 2
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(batch, 3, size, size, generator=gen).to(**kwargs)
    if family == 'neck':
        half = (size + 1) // 2
        return [x, torch.randn(batch, 3, half, half,
                               generator=gen).to(**kwargs)]
    return x


def randomise(model: nn.Module, seed: int = 0) -> nn.Module:
    """Nonzero ECA weights (so that every channel gets its own scale) and
    norms that are not the identity."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, ECAModule):
                m.conv.weight.copy_(torch.randn(m.conv.weight.shape,
                                                generator=gen))
            elif isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(n, generator=gen) * 0.1)
                m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
    return model


def set_mode(model: nn.Module, mode: str) -> nn.Module:
    """``mode``: 'eval', 'frozen_bn' (training with MMDetection's
    ``norm_eval=True``) or 'train' (batch statistics)."""
    model.train(mode != 'eval')  # mmdet's train() may return None
    if mode == 'frozen_bn':
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eval()
    return model


def run_model(model: nn.Module, x, autocast: Optional[torch.dtype] = None
              ) -> Tuple[List[torch.Tensor], List[Optional[torch.Tensor]]]:
    """Outputs and, in training, the gradients of the input(s) and every
    trainable parameter for a fixed weighting of the outputs."""
    xs = x if isinstance(x, list) else [x]
    xs = [t.detach().requires_grad_(model.training) for t in xs]
    # torch 2.1 refuses CPU autocast to float32 even when disabled
    context = (contextlib.nullcontext() if autocast is None else
               torch.autocast(xs[0].device.type, dtype=autocast))
    with context:
        outs = model(xs if isinstance(x, list) else xs[0])
    outs = outs if isinstance(outs, (tuple, list)) else (outs, )
    if not model.training:
        return [o.detach() for o in outs], []
    params = [p for p in model.parameters() if p.requires_grad]
    loss = 0
    for o in outs:  # low precision summed in float32, float64 as it is
        dtype = torch.promote_types(o.dtype, torch.float32)
        weights = torch.linspace(-1, 2, o.numel(), device=o.device,
                                 dtype=dtype).view(o.shape)
        loss = loss + (o.to(dtype) * weights).sum()
    grads = torch.autograd.grad(loss, xs + params, allow_unused=True)
    return [o.detach() for o in outs], list(grads)


def relative_error(got: List, expected: List) -> float:
    """Largest difference over the largest magnitude of ``expected``,
    across tensors (None pairs skipped)."""
    error, scale = 0.0, 1e-30
    for g, e in zip(got, expected):
        if g is None or e is None:
            assert g is None and e is None, 'a gradient is missing'
            continue
        error = max(error, (g.double() - e.double()).abs().max().item())
        scale = max(scale, e.double().abs().max().item())
    return error / scale


def form_errors(model: nn.Module, x, autocast: Optional[torch.dtype] = None
                ) -> Dict[str, float]:
    """How far ``model``'s forms are from its paper formulation, and how
    far the paper's own formulation in this precision is from float64.

    Returns:
        dict: ``outputs``/``grads``: relative error of the forms against
        the paper's in the same precision; ``paper_outputs``/
        ``paper_grads``: the paper's (in this precision) against float64.
    """
    paper, exact = copy.deepcopy(model), copy.deepcopy(model).double()
    fast_outs, fast_grads = run_model(model, x, autocast)
    with paper_formulation():
        ref_outs, ref_grads = run_model(paper, x, autocast)
        x64 = [t.double() for t in x] if isinstance(x, list) else x.double()
        exact_outs, exact_grads = run_model(exact, x64)
    return dict(outputs=relative_error(fast_outs, ref_outs),
                grads=relative_error(fast_grads, ref_grads),
                paper_outputs=relative_error(ref_outs, exact_outs),
                paper_grads=relative_error(ref_grads, exact_grads))
