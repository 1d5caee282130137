"""Which backbone a state dict in mmdet_eca's names belongs to.

Depth and kernel sizes are read off the tensors, never off a file's own
description (the official ResNet-50 file says ``arch='se_resnet50'``):
the block type and block count per stage give the depth, and the last
dimension of each ``eca.conv.weight`` gives that stage's ``k``.
"""
import re
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Tuple

import torch
from mmdet.models.backbones.mobilenet_v2 import MobileNetV2
from torch import Tensor

from ..backbones import ECAMobileNetV2, ECAResNet, ECAResNetV1d
from ..errors import CheckpointError
from ..layers.kernel_sizes import format_kernel_sizes, stage_kernel_sizes

_BLOCK = re.compile(r'^layer(\d+)\.(\d+)\.')
_BACKBONES = {
    'ECAResNet': ECAResNet,
    'ECAResNetV1d': ECAResNetV1d,
    'ECAMobileNetV2': ECAMobileNetV2,
}


class ConfigLine:
    """The ``backbone=dict(...)`` line of a spec with a ``config()``."""

    def detector_config(self) -> Dict:
        """The backbone entries a detector config sets."""
        return self.config()

    def config_text(self,
                    checkpoint: str,
                    prefix: Optional[str] = None) -> str:
        """The ``backbone=dict(...)`` line a config needs for ``checkpoint``.

        Args:
            checkpoint (str): Path the config should load.
            prefix (str, optional): ``Pretrained`` prefix, for a detector
                checkpoint (``'backbone.'``). Defaults to None.

        Returns:
            str: One line of Python.
        """
        init = f"type='Pretrained', checkpoint={checkpoint!r}"
        if prefix:
            init += f', prefix={prefix!r}'
        fields = ', '.join(
            f'{k}={v!r}' for k, v in self.detector_config().items())
        return f'backbone=dict({fields}, init_cfg=dict({init}))'


@dataclass(frozen=True)
class BackboneSpec(ConfigLine):
    """The backbone settings a checkpoint's tensors require.

    Args:
        type (str): ``'ECAResNet'``, ``'ECAResNetV1d'`` or
            ``'ECAMobileNetV2'``.
        eca_kernel_sizes (tuple[int]): ECA kernel size of each stage.
        depth (int, optional): ResNet depth; None for MobileNetV2.
            Defaults to None.
    """

    type: str
    eca_kernel_sizes: Tuple[int, ...]
    depth: Optional[int] = None

    @property
    def kernel_sizes_str(self) -> str:
        """The kernel sizes as a config string, e.g. ``'3557'``."""
        return format_kernel_sizes(self.eca_kernel_sizes)

    @property
    def out_channels(self) -> List[int]:
        """Channels of the backbone's outputs with its default out_indices."""
        if self.type == 'ECAMobileNetV2':
            # out_indices (1, 2, 4, 7): layer2, layer3, layer5, conv2
            return [24, 32, 96, 1280]
        expansion = 1 if self.depth in (18, 34) else 4
        return [64 * 2**i * expansion for i in range(4)]

    def config(self) -> Dict:
        """Backbone config entries, e.g. ``{'type': 'ECAResNet', ...}``."""
        cfg = dict(type=self.type)
        if self.depth is not None:
            cfg['depth'] = self.depth
        cfg['eca_kernel_sizes'] = self.kernel_sizes_str
        return cfg

    def build(self, device: str = 'cpu') -> torch.nn.Module:
        """The backbone these settings describe.

        Args:
            device (str): Device to build on; ``'meta'`` allocates nothing,
                enough to compare names and shapes. Defaults to ``'cpu'``.

        Returns:
            nn.Module: The backbone, with mmdet's default initialisation.
        """
        kwargs = dict(self.config())
        cls = _BACKBONES[kwargs.pop('type')]
        with torch.device(device):
            return cls(**kwargs)


def _stage_kernel_sizes(state_dict: Mapping[str, Tensor], num_stages: int,
                        what: str, backbone: str) -> Tuple[int, ...]:
    found = stage_kernel_sizes(state_dict)
    if not found:
        # Plain weights need no conversion: the ECA backbones load them
        # under the same names, with ECA starting as the identity.
        raise CheckpointError(
            f"has no ECA weights ('layerX.Y.eca.conv.weight'): it looks like "
            f'a plain {what} without ECA, not an ECA-Net checkpoint; it '
            'loads as it is into every tensor but the ECA weights, with ECA '
            'starting as the identity (the plain network at the first '
            f'step): backbone=dict({backbone}, eca_identity_init=True, '
            "init_cfg=dict(type='Pretrained', checkpoint=<this file>))")
    sizes = []
    for stage in range(1, num_stages + 1):
        ks = found.get(stage - 1)
        if not ks:
            raise CheckpointError(f'has no ECA weights in layer{stage}: '
                                  f'expected one per block of a {what}')
        if len(ks) > 1:
            raise CheckpointError(
                f'mixes ECA kernel sizes {sorted(ks)} within layer{stage}: '
                'the backbones take one kernel size per stage')
        sizes.append(ks.pop())
    return tuple(sizes)


def _blocks_per_stage(state_dict: Mapping[str, Tensor]) -> Tuple[int, ...]:
    blocks: Dict[int, set] = {}
    for key in state_dict:
        match = _BLOCK.match(key)
        if match:
            blocks.setdefault(int(match.group(1)), set()).add(
                int(match.group(2)))
    num_stages = max(blocks, default=0)
    return tuple(len(blocks.get(s, ())) for s in range(1, num_stages + 1))


def _detect_resnet(state_dict: Mapping[str, Tensor],
                   backbone_type: str) -> BackboneSpec:
    bottleneck = 'layer1.0.conv3.weight' in state_dict
    counts = _blocks_per_stage(state_dict)
    block = 'Bottleneck' if bottleneck else 'BasicBlock'
    depth = next((d for d, (cls, stages) in ECAResNet.arch_settings.items()
                  if tuple(stages) == counts
                  and (cls.expansion == 4) == bottleneck), None)
    if depth is None:
        known = ', '.join(f"{d}: {'-'.join(map(str, s))}"
                          for d, (_, s) in ECAResNet.arch_settings.items())
        raise CheckpointError(
            f"has {block}s with {'-'.join(map(str, counts)) or 'no'} blocks "
            f'per stage, which is no ResNet depth the backbones support '
            f'({known})')
    sizes = _stage_kernel_sizes(
        state_dict, 4, f'ResNet-{depth}',
        f"type='{backbone_type}', depth={depth}, "
        "eca_kernel_sizes='adaptive'")
    return BackboneSpec(backbone_type, sizes, depth)


def detect_backbone(state_dict: Mapping[str, Tensor]) -> BackboneSpec:
    """Backbone settings for a state dict in mmdet_eca's names.

    Args:
        state_dict (Mapping[str, Tensor]): Backbone weights, no prefix.

    Returns:
        BackboneSpec: Type, depth and per-stage kernel sizes.

    Raises:
        CheckpointError: If the tensors fit none of the backbones.
    """
    if 'stem.0.weight' in state_dict:
        return _detect_resnet(state_dict, 'ECAResNetV1d')
    if 'conv1.conv.weight' in state_dict:
        sizes = _stage_kernel_sizes(state_dict,
                                    len(MobileNetV2.arch_settings),
                                    'MobileNetV2', "type='ECAMobileNetV2'")
        return BackboneSpec('ECAMobileNetV2', sizes)
    if 'conv1.weight' in state_dict:
        return _detect_resnet(state_dict, 'ECAResNet')
    raise CheckpointError('has no ECA-ResNet or ECA-MobileNetV2 stem '
                          "('conv1.weight', 'stem.0.weight' or "
                          "'conv1.conv.weight')")


def check_state_dict(spec: BackboneSpec,
                     state_dict: Mapping[str, Tensor]) -> None:
    """Check that ``state_dict`` loads strictly into ``spec``'s backbone.

    The ResNets are built on the meta device (no memory, no init cost).
    MobileNetV2 is built on the CPU: mmcv's ConvModule initialises its
    weights while being built, which on the meta device costs a one-off
    warm-up longer than building the small network for real.

    Missing ``num_batches_tracked`` buffers are allowed: old checkpoints
    lack them and PyTorch fills them in.

    Args:
        spec (BackboneSpec): The backbone to compare with.
        state_dict (Mapping[str, Tensor]): Backbone weights, no prefix.

    Raises:
        CheckpointError: Naming the first few missing, unexpected or
            mis-shaped tensors.
    """
    device = 'cpu' if spec.type == 'ECAMobileNetV2' else 'meta'
    check_fit(spec.build(device).state_dict(), state_dict,
              f'{spec.type}({_describe(spec)})')


def check_fit(expected: Mapping[str, Tensor],
              state_dict: Mapping[str, Tensor],
              model: str,
              may_lack: Callable[[str], bool] = lambda key: False) -> None:
    """Raise unless ``state_dict`` has exactly the keys and shapes of
    ``expected`` (a model's state dict).

    Args:
        expected (Mapping[str, Tensor]): What the model holds.
        state_dict (Mapping[str, Tensor]): What would be loaded.
        model (str): The model, for the message, e.g. ``'ECAResNet(...)'``.
        may_lack (Callable[[str], bool]): Keys the file may leave out
            besides ``num_batches_tracked`` (old checkpoints lack them and
            PyTorch fills them in).

    Raises:
        CheckpointError: Naming the first few missing, unexpected or
            mis-shaped tensors.
    """
    problems = []
    for key, value in expected.items():
        if key not in state_dict:
            if not (key.endswith('num_batches_tracked') or may_lack(key)):
                problems.append(f'missing {key!r}')
        elif tuple(state_dict[key].shape) != tuple(value.shape):
            problems.append(f'{key!r} has shape '
                            f'{list(state_dict[key].shape)}, expected '
                            f'{list(value.shape)}')
    problems += [f'unexpected {k!r}' for k in state_dict if k not in expected]
    if problems:
        more = f' (+{len(problems) - 3} more)' if len(problems) > 3 else ''
        raise CheckpointError(f"does not fit {model}: "
                              f"{'; '.join(problems[:3])}{more}")


def _describe(spec: BackboneSpec) -> str:
    return ', '.join(f'{k}={v!r}' for k, v in spec.config().items()
                     if k != 'type')
