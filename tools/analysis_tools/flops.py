"""Parameters and operation counts, comparable with the ECA paper's table.

The paper's "Param." and "FLOPs" columns come from thop, divided by 2**20
and 2**30 ("24.37M" is 25,557,112 parameters, "3.86G" about 4.15e9
operations), and cover the ImageNet model: the backbone plus its global
pooling and 1000-way fc classifier. :func:`count_complexity` therefore
gives two counts, both from forward hooks on the leaf modules:

* ``macs``: multiply-adds of the convolutions and linear layers, the usual
  meaning of "FLOPs" in detection papers;
* ``thop_ops``: thop-style operations, the paper's count: per output
  element a convolution or linear layer costs its multiply-adds plus 1
  with a bias, an adaptive average pool its window size plus 1; a
  BatchNorm or GroupNorm costs 4 per element (subtract, divide, scale,
  shift), a ReLU 1, a max-pool nothing. Sigmoids and functional
  element-wise products are not counted; thop's hooks never saw them.
  With the ImageNet head at 224x224 these rules give the paper's FLOPs for
  ECA-ResNet-18/34/50/101 (1.70, 3.43, 3.86, 7.35 G) and 10.84 G for
  ECA-ResNet-152, where the paper has 10.83 G.

ECA's pooling is functional here (``ECAModule`` has no pooling module), so
each ECA, a module call in every family, is charged the cost of the
``AdaptiveAvgPool2d`` of the reference implementation on its input (a
ResNet block's normalised output, an EfficientNet block's mid channels, a
CSP layer's concatenation, a pyramid level); its ``Conv1d`` is counted as
a convolution.
"""
import math
from dataclasses import dataclass, field
from typing import Dict, Tuple

import torch
from torch import nn

from mmdet_eca.layers import ECAModule


@dataclass
class Complexity:
    """Counts of one forward.

    Args:
        params (int): Number of parameters.
        macs (int): Convolution and linear multiply-adds.
        thop_ops (int): Operations under thop's early rules.
        macs_by_type (dict[str, int]): ``macs`` split by module type.
    """
    params: int
    macs: int = 0
    thop_ops: int = 0
    macs_by_type: Dict[str, int] = field(default_factory=dict)


def count_parameters(model: nn.Module) -> int:
    """All parameters of ``model``, trainable or frozen."""
    return sum(p.numel() for p in model.parameters())


def _conv(m: nn.modules.conv._ConvNd, x, y) -> Tuple[int, int]:
    macs = y.numel() * m.in_channels // m.groups * math.prod(m.kernel_size)
    return macs, macs + (y.numel() if m.bias is not None else 0)


def _linear(m: nn.Linear, x, y) -> Tuple[int, int]:
    macs = y.numel() * m.in_features
    return macs, macs + (y.numel() if m.bias is not None else 0)


def _norm(m, x, y) -> Tuple[int, int]:
    return 0, 4 * x[0].numel()  # subtract, divide, scale, shift


def _relu(m, x, y) -> Tuple[int, int]:
    return 0, x[0].numel()


def _adaptive_avg_pool(m, x, y) -> Tuple[int, int]:
    window = math.prod(x[0].shape[2:]) // math.prod(y.shape[2:])
    return 0, y.numel() * (window + 1)


_RULES = (
    (nn.modules.conv._ConvNd, _conv),
    (nn.Linear, _linear),
    ((nn.modules.batchnorm._BatchNorm, nn.GroupNorm), _norm),
    (nn.ReLU, _relu),
    (nn.AdaptiveAvgPool2d, _adaptive_avg_pool),
)


def _pooled_input(eca, x, y) -> Tuple[int, int]:
    # the reference ECA's AdaptiveAvgPool2d over its input
    n, c = x[0].shape[:2]
    return 0, n * c * (math.prod(x[0].shape[2:]) + 1)


def count_complexity(model: nn.Module, *inputs: torch.Tensor) -> Complexity:
    """Count ``model``'s parameters and the operations of ``model(*inputs)``.

    The model runs once in eval mode without gradients; its train/eval
    state is restored afterwards. Tuple or list outputs are fine.

    Args:
        model (nn.Module): Any model built from standard layers.
        *inputs (Tensor): Its inputs.

    Returns:
        Complexity: The counts.
    """
    result = Complexity(params=count_parameters(model))

    def hook_for(rule):

        def hook(module, x, y):
            macs, ops = rule(module, x, y)
            result.macs += macs
            result.thop_ops += ops
            if macs:
                name = type(module).__name__
                result.macs_by_type[name] = (
                    result.macs_by_type.get(name, 0) + macs)

        return hook

    handles = []
    for module in model.modules():
        if isinstance(module, ECAModule):
            handles.append(
                module.register_forward_hook(hook_for(_pooled_input)))
        if next(module.children(), None) is not None:
            continue
        for types, rule in _RULES:
            if isinstance(module, types):
                handles.append(module.register_forward_hook(hook_for(rule)))
                break
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return result


class ImageNetClassifier(nn.Module):
    """A backbone plus the ImageNet head its paper counts: pool and fc.

    Args:
        backbone (nn.Module): Returns a tuple of feature maps, the last of
            which has ``in_features`` channels.
        in_features (int): Channels of the last feature map.
        num_classes (int): Defaults to 1000.
    """

    def __init__(self, backbone: nn.Module, in_features: int,
                 num_classes: int = 1000) -> None:
        super().__init__()
        self.backbone = backbone
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.avgpool(self.backbone(x)[-1]).flatten(1))


def _amounts(n: int, unit: str) -> str:
    binary = 2**20 if unit == 'M' else 2**30
    decimal = 1e6 if unit == 'M' else 1e9
    return f'{n:,} = {n / decimal:.2f} {unit} = {n / binary:.2f} {unit}i'


def complexity_report(backbone: nn.Module, name: str, batch: int,
                      resolution: Tuple[int, int]) -> str:
    """Parameters and operations of ``backbone``, alone and as a classifier.

    Args:
        backbone (nn.Module): Returns a tuple of feature maps.
        name (str): How to call it in the report.
        batch (int): Images per forward.
        resolution (tuple[int, int]): Input (H, W).

    Returns:
        str: A Markdown table and a note on reading it against the paper.
    """
    return complexity_table({name: backbone}, batch, resolution)


def complexity_table(backbones: Dict[str, nn.Module], batch: int,
                     resolution: Tuple[int, int]) -> str:
    """:func:`complexity_report` of several backbones in one table, e.g.
    ECA-EfficientNet beside MMDetection's EfficientNet (SE).

    Args:
        backbones (dict[str, nn.Module]): Names and backbones.
        batch (int): Images per forward.
        resolution (tuple[int, int]): Input (H, W).
    """
    inputs = torch.zeros(batch, 3, *resolution)
    rows = []
    for name, backbone in backbones.items():
        was_training = backbone.training
        backbone.eval()
        with torch.no_grad():
            channels = backbone(inputs)[-1].shape[1]
        backbone.train(was_training)
        rows += [(f'{name} backbone (as in a detector)',
                  count_complexity(backbone, inputs)),
                 (f'{name} + ImageNet head (avg pool, fc {channels}->1000)',
                  count_complexity(
                      ImageNetClassifier(backbone, channels), inputs))]
    height, width = resolution
    lines = [
        f'input {batch}x3x{height}x{width}', '',
        '| model | parameters | multiply-adds (conv, linear) '
        '| thop-style operations |', '|---|---|---|---|'
    ]
    for label, c in rows:
        lines.append(f'| {label} | {_amounts(c.params, "M")} '
                     f'| {_amounts(c.macs, "G")} '
                     f'| {_amounts(c.thop_ops, "G")} |')
    lines += [
        '',
        'M/G are 1e6/1e9; Mi/Gi are 2**20/2**30. The ECA paper reports '
        'thop counts of the ImageNet model in Mi and Gi, labelled M and G '
        '(ECA-Net50: 24.37M parameters, 3.86G FLOPs at 1x3x224x224): '
        'compare its table with the thop-style column of the "+ ImageNet '
        'head" row. A detector uses the backbone row.'
    ]
    return '\n'.join(lines)
