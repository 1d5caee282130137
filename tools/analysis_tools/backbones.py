"""The backbones the benchmark compares, built by name.

``ResNet-50`` is MMDetection's ResNet, ``ECAResNet-50`` this package's and
``SEResNet-50`` the SE variant of :mod:`.se_resnet`. All three are built with
the same arguments and, where their parameters have the same names, the
same weights, so they differ only in the attention.
"""
import copy
import re
from typing import Dict, Tuple, Type

import torch
from mmdet.models.backbones import ResNet
from torch import nn

from mmdet_eca.backbones import ECAResNet
from .se_resnet import SEResNet

BACKBONES: Dict[str, Type[ResNet]] = {
    'ResNet': ResNet,
    'ECAResNet': ECAResNet,
    'SEResNet': SEResNet,
}

_NAME = re.compile(r'^([A-Za-z]+)-?(\d+)$')


def parse_backbone_name(name: str) -> Tuple[Type[ResNet], int]:
    """``'ECAResNet-50'`` -> ``(ECAResNet, 50)`` (case and hyphen optional).

    Args:
        name (str): A key of :data:`BACKBONES` and a depth.
    """
    match = _NAME.match(name)
    lower = {k.lower(): v for k, v in BACKBONES.items()}
    if not match or match.group(1).lower() not in lower:
        raise ValueError(f'unknown backbone {name!r}: expected one of '
                         f'{", ".join(BACKBONES)} and a depth, e.g. '
                         "'ECAResNet-50'")
    return lower[match.group(1).lower()], int(match.group(2))


def build_backbone(name: str, **kwargs) -> ResNet:
    """Build a backbone from a name such as ``'SEResNet-101'``.

    Args:
        name (str): See :func:`parse_backbone_name`.
        **kwargs: Arguments of mmdet's ``ResNet``.
    """
    cls, depth = parse_backbone_name(name)
    return cls(depth=depth, **kwargs)


def _init_like_resnet(model: nn.Module) -> None:
    # What init_weights() does for these models (Kaiming for every Conv2d,
    # SE's included, ones and zeros for norms) without MMEngine's log of
    # every parameter. ECA's Conv1d keeps PyTorch's default, as in the
    # reference code.
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(
                m.weight, mode='fan_out', nonlinearity='relu')
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def build_comparison(depth: int,
                     seed: int = 0,
                     control: bool = False,
                     **kwargs) -> Dict[str, nn.Module]:
    """ResNet, ECAResNet and SEResNet of one depth with shared weights.

    Each is initialised as MMDetection initialises a ResNet trained from
    scratch, but without zero-initialising the last norm of each block,
    which would make every attention multiply zeros. ECAResNet and SEResNet
    then take ResNet's weights for the parameters they share with it, so
    all three compute on the same values up to the attention.

    Args:
        depth (int): 18, 34, 50, 101 or 152.
        seed (int): Seed of the initialisation. Defaults to 0.
        control (bool): Add a copy of the ResNet, ``'ResNet-50 (copy)'``:
            timed against the original, it shows how far apart two
            identical models measure (an A/A test). Defaults to False.
        **kwargs: Arguments of mmdet's ``ResNet`` for all three.

    Returns:
        dict[str, nn.Module]: ``{'ResNet-50': ..., 'ECAResNet-50': ...,
        'SEResNet-50': ...}``, the baseline first.
    """
    models = {}
    for name, cls in BACKBONES.items():
        torch.manual_seed(seed)
        model = cls(depth=depth, **kwargs)
        _init_like_resnet(model)
        models[f'{name}-{depth}'] = model
    base = next(iter(models.values())).state_dict()
    for model in list(models.values())[1:]:
        model.load_state_dict(base, strict=False)
    if control:
        models[f'ResNet-{depth} (copy)'] = copy.deepcopy(
            models[f'ResNet-{depth}'])
    return models
