"""The backbones the benchmark compares, built by name.

``ResNet-50`` is MMDetection's ResNet, ``ECAResNet-50`` this package's and
``SEResNet-50`` the SE variant of :mod:`.se_resnet`. ``EfficientNet-B0`` is
MMDetection's EfficientNet (with SE), ``ECAEfficientNet-B0`` this
package's and ``PlainEfficientNet-B0`` the one without attention of
:mod:`.plain_efficientnet`. The models of a comparison are built with the
same arguments and, where their parameters have the same names, the same
weights, so they differ only in the attention.
"""
import copy
import functools
import re
from typing import Callable, Dict, Tuple, Type, Union

import torch
from mmdet.models.backbones import EfficientNet, ResNet
from torch import nn

from mmdet_eca.backbones import ECAEfficientNet, ECAResNet
from mmdet_eca.layers import ECA, eca_plugins
from .plain_efficientnet import PlainEfficientNet
from .se_resnet import SEResNet

BACKBONES: Dict[str, Type[nn.Module]] = {
    'ResNet': ResNet,
    'ECAResNet': ECAResNet,
    'SEResNet': SEResNet,
    'PlainEfficientNet': PlainEfficientNet,
    'EfficientNet': EfficientNet,
    'ECAEfficientNet': ECAEfficientNet,
}

# a ResNet depth, or an EfficientNet arch (b0..b8, es, em, el)
_NAME = re.compile(r'^([A-Za-z]+?)-?(\d+|[bB]\d|es|em|el)$')


def parse_backbone_name(
        name: str) -> Tuple[Type[nn.Module], Union[int, str]]:
    """``'ECAResNet-50'`` -> ``(ECAResNet, 50)``, ``'ECAEfficientNet-B0'``
    -> ``(ECAEfficientNet, 'b0')`` (case and hyphen optional).

    Args:
        name (str): A key of :data:`BACKBONES` and a depth (ResNets) or
            an arch (EfficientNets).
    """
    match = _NAME.match(name)
    lower = {k.lower(): v for k, v in BACKBONES.items()}
    cls = lower.get(match.group(1).lower()) if match else None
    if cls is not None and issubclass(cls, EfficientNet):
        arch = match.group(2).lower()
        if arch in EfficientNet.arch_settings:
            return cls, arch
    elif cls is not None and match.group(2).isdigit():
        return cls, int(match.group(2))
    raise ValueError(f'unknown backbone {name!r}: expected one of '
                     f'{", ".join(BACKBONES)} and a depth or arch, e.g. '
                     "'ECAResNet-50' or 'ECAEfficientNet-B0'")


def build_backbone(name: str, **kwargs) -> nn.Module:
    """Build a backbone from a name such as ``'SEResNet-101'``.

    Args:
        name (str): See :func:`parse_backbone_name`.
        **kwargs: Arguments of mmdet's ``ResNet`` or ``EfficientNet``.
    """
    cls, depth = parse_backbone_name(name)
    if issubclass(cls, EfficientNet):
        return cls(arch=depth, **kwargs)
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
                     eca_plugin: bool = False,
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
        eca_plugin (bool): Add ``'ResNet-50 + ECA plugin'``, MMDetection's
            ResNet with the ECA plugin after every block's conv3 and the
            ECAResNet's weights: the same model as ECAResNet, computed the
            paper's way (a plugin cannot reach the fused block tail).
            Bottleneck depths only. Defaults to False.
        **kwargs: Arguments of mmdet's ``ResNet`` for all of them.

    Returns:
        dict[str, nn.Module]: ``{'ResNet-50': ..., 'ECAResNet-50': ...,
        'SEResNet-50': ...}``, the baseline first.
    """
    models = {}
    for name, cls in BACKBONES.items():
        if not issubclass(cls, ResNet):
            continue
        torch.manual_seed(seed)
        model = cls(depth=depth, **kwargs)
        _init_like_resnet(model)
        models[f'{name}-{depth}'] = model
    base = next(iter(models.values())).state_dict()
    for model in list(models.values())[1:]:
        model.load_state_dict(base, strict=False)
    if eca_plugin:
        eca = models[f'ECAResNet-{depth}']
        # the class, not its registered name: no default scope here
        plugins = [dict(p, cfg=dict(p['cfg'], type=ECA))
                   for p in eca_plugins(eca.eca_kernel_sizes)]
        plugin = ResNet(depth=depth, plugins=plugins, **kwargs)
        plugin.load_state_dict(eca.state_dict(), strict=True)
        models[f'ResNet-{depth} + ECA plugin'] = plugin
    if control:
        models[f'ResNet-{depth} (copy)'] = copy.deepcopy(
            models[f'ResNet-{depth}'])
    return models


# all of the network (the head conv too) and the outputs a detector reads
EFFICIENTNET_OUT_INDICES = (3, 4, 5, 6)


def build_efficientnet_comparison(arch: str,
                                  seed: int = 0,
                                  control: bool = False,
                                  **kwargs) -> Dict[str, nn.Module]:
    """EfficientNets of one arch without attention, with SE and with ECA.

    The EfficientNet-B0 + ECA study's three models, as MMDetection builds
    them (``PlainEfficientNet``, MMDetection's ``EfficientNet``,
    ``ECAEfficientNet``), initialised as :func:`build_comparison` does and
    sharing the weights of the one without attention.

    Args:
        arch (str): ``'b0'`` .. ``'b8'``, ``'es'``, ``'em'``, ``'el'``.
        seed (int): Seed of the initialisation. Defaults to 0.
        control (bool): Add a copy of the one without attention. Defaults
            to False.
        **kwargs: Arguments of mmdet's ``EfficientNet`` for all three;
            ``out_indices`` defaults to :data:`EFFICIENTNET_OUT_INDICES`.

    Returns:
        dict[str, nn.Module]: ``{'PlainEfficientNet-B0': ...,
        'EfficientNet-B0': ..., 'ECAEfficientNet-B0': ...}``, the baseline
        first.
    """
    kwargs.setdefault('out_indices', EFFICIENTNET_OUT_INDICES)
    label = arch.upper() if arch.startswith('b') else arch
    return build_sharing_weights(
        {
            f'{cls.__name__}-{label}': functools.partial(
                cls, arch=arch, **kwargs)
            for cls in (PlainEfficientNet, EfficientNet, ECAEfficientNet)
        },
        control=control,
        seed=seed)


def build_sharing_weights(builders: Dict[str, Callable[[], nn.Module]],
                          control: bool = False,
                          seed: int = 0) -> Dict[str, nn.Module]:
    """Build each model from ``seed``, initialise it as
    :func:`build_comparison` does, and give every model the first's values
    of the tensors they share by name and shape.

    Args:
        builders (dict[str, Callable]): Name to a function building the
            model, the baseline first.
        control (bool): Add a copy of the baseline, ``'<name> (copy)'``.
            Defaults to False.
        seed (int): Seed of the initialisation. Defaults to 0.

    Returns:
        dict[str, nn.Module]: The models in ``builders``' order.
    """
    models = {}
    for name, build in builders.items():
        torch.manual_seed(seed)
        model = build()
        _init_like_resnet(model)
        models[name] = model
    base = next(iter(models.values())).state_dict()
    with torch.no_grad():
        for model in list(models.values())[1:]:
            # copied, not loaded: the ECA backbones would log their one
            # line about weights without attention
            for key, tensor in model.state_dict().items():
                if key in base and base[key].shape == tensor.shape:
                    tensor.copy_(base[key])
    if control:
        first = next(iter(models))
        models[f'{first} (copy)'] = copy.deepcopy(models[first])
    return models
