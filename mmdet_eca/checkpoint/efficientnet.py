"""Converting SE EfficientNet ImageNet weights for ``ECAEfficientNet``.

There are no ImageNet ECA-EfficientNet weights to convert: the sources are
EfficientNets with squeeze-and-excitation, the OpenMMLab classification
release that MMDetection's EfficientNet configs load (``backbone.*`` and
``head.fc``) and timm's ``efficientnet_b*``/``tf_efficientnet_b*``. Every
tensor but the SE ones and the classifier maps one to one (see
:mod:`mmdet_eca.backbones.efficientnet_keys`); the ECA layers are not in
the result and start from their initialisation when it is loaded.
:func:`convert_efficientnet` is what ``convert_state_dict`` runs for an
EfficientNet; :func:`~.report.format_report` words its result.
"""
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Tuple

import torch
from torch import Tensor

from ..backbones.eca_efficientnet import (ECAEfficientNet,
                                          eca_kernel_sizes_for,
                                          efficientnet_blocks)
from ..backbones.efficientnet_keys import (TIMM_HEAD,
                                           convert_timm_efficientnet,
                                           is_eca_key, is_timm_efficientnet,
                                           split_attention,
                                           strip_backbone_prefix)
from ..errors import CheckpointError
from ..layers.kernel_sizes import format_kernel_sizes
from .spec import ConfigLine, check_fit

EFFICIENTNET_FORMATS = {
    'openmmlab efficientnet':
    'OpenMMLab EfficientNet with SE (mmpretrain/mmcls classifier or '
    "MMDetection's EfficientNet)",
    'timm efficientnet':
    'timm EfficientNet with SE (efficientnet_b*, tf_efficientnet_b*)',
}

# MMDetection's RetinaNet EfficientNet config reads layers 3, 4 and 5
# (strides 8, 16, 32)
DETECTOR_OUT_INDICES = (3, 4, 5)

TIMM_NOTE = ("timm's tf_efficientnet_b* weights match ECAEfficientNet's "
             "defaults (TF 'same' padding, BN eps 1e-3); for its "
             "PyTorch-trained efficientnet_b* set conv_cfg=dict(type="
             "'Conv2d') and norm_cfg eps=1e-5 in the backbone")


@dataclass(frozen=True)
class EfficientNetSpec(ConfigLine):
    """The ``ECAEfficientNet`` settings a checkpoint's tensors require.

    Args:
        arch (str): ``'b0'`` .. ``'b8'``, ``'es'``, ``'em'``, ``'el'``.
        eca_kernel_sizes (tuple[int]): One ECA kernel size per block.
        pretrained_eca (bool): Whether the weights include the ECA layers
            (False for weights converted from SE). Defaults to False.
    """

    arch: str
    eca_kernel_sizes: Tuple[int, ...]
    pretrained_eca: bool = False
    type: str = 'ECAEfficientNet'
    depth: Optional[int] = None  # as BackboneSpec, for the meta entry

    @property
    def adaptive(self) -> bool:
        """Whether the kernel sizes are the paper's rule (the default)."""
        return self.eca_kernel_sizes == eca_kernel_sizes_for(
            efficientnet_blocks(self.arch), 'adaptive')

    @property
    def kernel_sizes_str(self) -> str:
        """``'adaptive'`` or one digit per block, e.g. ``'3355...'``."""
        if self.adaptive:
            return 'adaptive'
        return format_kernel_sizes(self.eca_kernel_sizes)

    @property
    def out_channels(self) -> List[int]:
        """Channels of layers 3, 4, 5 (:data:`DETECTOR_OUT_INDICES`)."""
        last = {}
        for block in efficientnet_blocks(self.arch):
            last[block.layer] = block.out_channels
        return [last[i] for i in DETECTOR_OUT_INDICES]

    def config(self) -> Dict:
        """Backbone config entries, e.g. ``{'type': 'ECAEfficientNet',
        'arch': 'b3'}`` (kernel sizes only where not adaptive)."""
        cfg = dict(type=self.type, arch=self.arch)
        if not self.adaptive:
            cfg['eca_kernel_sizes'] = self.kernel_sizes_str
        return cfg

    def detector_config(self) -> Dict:
        """:meth:`config` with the detectors' ``out_indices``."""
        return dict(self.config(), out_indices=DETECTOR_OUT_INDICES)

    @property
    def head_layer(self) -> int:
        """The index in ``layers`` of the final 1x1 conv (6)."""
        return len(self._layer_counts()) + 1

    def build(self, device: str = 'cpu') -> ECAEfficientNet:
        """The whole backbone (head conv included) these settings describe.

        Args:
            device (str): ``'meta'`` allocates nothing. Defaults to
                ``'cpu'``.
        """
        with torch.device(device):
            return ECAEfficientNet(
                arch=self.arch,
                eca_kernel_sizes=self.eca_kernel_sizes,
                out_indices=(self.head_layer, ))

    def _layer_counts(self) -> List[int]:
        counts: Dict[int, int] = {}
        for block in efficientnet_blocks(self.arch):
            counts[block.layer] = counts.get(block.layer, 0) + 1
        return [counts[i] for i in sorted(counts)]

    def describe(self) -> str:
        """``'ECAEfficientNet, arch b0 (16 blocks, layers 1-5: 1, 2, 2, 6,
        5)'``."""
        counts = self._layer_counts()
        return (f'{self.type}, arch {self.arch} ({sum(counts)} blocks, '
                f"layers 1-{len(counts)}: {', '.join(map(str, counts))})")


class EfficientNetConversion(NamedTuple):
    """The fields of a ``ConversionResult`` (see :mod:`.convert`)."""
    source_format: str
    spec: EfficientNetSpec
    state_dict: Dict[str, Tensor]
    dropped: List[str]
    notes: List[str]
    prefix: Optional[str] = None


def _signature(blocks) -> List[Tuple[int, int, int, int]]:
    return [(b.layer, b.index, b.mid_channels, b.out_channels)
            for b in blocks]


def _file_signature(state_dict: Mapping[str, Tensor]):
    found = {}
    for key, value in state_dict.items():
        parts = key.split('.')
        if len(parts) < 5 or parts[0] != 'layers' or parts[1] == '0':
            continue
        block = (int(parts[1]), int(parts[2]))
        entry = found.setdefault(block, [0, 0])
        if parts[3] in ('depthwise_conv', 'conv1') and parts[-1] == 'weight' \
                and value.dim() == 4:
            entry[0] = value.shape[0]
        if parts[3] in ('linear_conv', 'conv2') and parts[-1] == 'weight' \
                and value.dim() == 4:
            entry[1] = value.shape[0]
    return [(layer, index, mid, out)
            for (layer, index), (mid, out) in sorted(found.items())]


def detect_efficientnet(state_dict: Mapping[str, Tensor]) -> EfficientNetSpec:
    """The arch (and ECA kernel sizes, if any) of EfficientNet weights.

    Args:
        state_dict (Mapping[str, Tensor]): Backbone weights in MMDetection's
            names, no prefix, SE taken out.

    Raises:
        CheckpointError: If the blocks' channels match no arch.
    """
    signature = _file_signature(state_dict)
    for arch in ECAEfficientNet.arch_settings:
        blocks = efficientnet_blocks(arch)
        if _signature(blocks) != signature:
            continue
        eca = {k: v for k, v in state_dict.items() if is_eca_key(k)}
        if not eca:
            return EfficientNetSpec(
                arch, eca_kernel_sizes_for(blocks, 'adaptive'))
        sizes = tuple(
            int(eca[f'layers.{b.layer}.{b.index}.eca.conv.weight'].shape[-1])
            if f'layers.{b.layer}.{b.index}.eca.conv.weight' in eca else 0
            for b in blocks)
        if 0 in sizes:
            raise CheckpointError(
                f'has ECA weights in {len(eca)} of the {len(blocks)} blocks '
                f'of EfficientNet-{arch}: expected one per block')
        return EfficientNetSpec(arch, sizes, pretrained_eca=True)
    stem = state_dict.get('layers.0.conv.weight')
    width = stem.shape[0] if stem is not None else '?'
    raise CheckpointError(
        f'is an EfficientNet (stem of {width} channels, {len(signature)} '
        "blocks) that matches none of MMDetection's archs "
        f"({', '.join(ECAEfficientNet.arch_settings)}): it must hold the "
        'whole backbone, layers 1 to 5')


def check_efficientnet_state_dict(spec: EfficientNetSpec,
                                  state_dict: Mapping[str, Tensor]) -> None:
    """Check that ``state_dict`` loads into ``spec``'s backbone, but for
    the ECA weights when it has none.

    Raises:
        CheckpointError: Naming the first few missing, unexpected or
            mis-shaped tensors.
    """
    expected = spec.build('meta').state_dict()
    # weights of a detector's backbone may end before the head conv
    head = f'layers.{spec.head_layer}.'
    without_head = not any(k.startswith(head) for k in state_dict)
    check_fit(
        expected, state_dict, f'ECAEfficientNet(arch={spec.arch!r})',
        lambda key: (is_eca_key(key) and not spec.pretrained_eca) or (
            without_head and key.startswith(head)))


def convert_efficientnet(checkpoint: Any, state_dict: Dict[str, Tensor],
                         had_prefix: bool) -> EfficientNetConversion:
    """Convert EfficientNet weights (see :func:`.convert_state_dict`).

    Args:
        checkpoint (Any): The whole loaded file (for its ``meta``).
        state_dict (dict[str, Tensor]): Its weights, ``module.`` removed.
        had_prefix (bool): Whether ``module.`` was removed.

    Returns:
        EfficientNetConversion: The fields of a ``ConversionResult``.

    Raises:
        CheckpointError: If the weights fit no ``ECAEfficientNet``.
    """
    notes = (["removed the 'module.' prefix (a DataParallel save)"]
             if had_prefix else [])
    dropped, prefix = [], None
    has_eca = any(is_eca_key(k.split('backbone.', 1)[-1]) for k in state_dict)
    if is_timm_efficientnet(state_dict):
        fmt = 'timm efficientnet'
        try:
            state_dict, dropped = convert_timm_efficientnet(state_dict)
        except ValueError as err:
            raise CheckpointError(str(err)) from None
        foreign = [k for k in dropped if k not in TIMM_HEAD]
        if foreign:
            raise CheckpointError(
                f'has {len(foreign)} key(s) that are not part of a timm '
                f'EfficientNet, e.g. {foreign[0]!r}')
        notes.append(TIMM_NOTE)
    elif any(k.startswith('backbone.') for k in state_dict):
        state_dict, dropped = strip_backbone_prefix(state_dict)
        fmt = 'mmdet detector' if has_eca else 'openmmlab efficientnet'
        if has_eca:
            prefix, dropped = 'backbone.', []
    else:
        meta = checkpoint.get('meta') if isinstance(checkpoint,
                                                    Mapping) else None
        converted = isinstance(meta, Mapping) and 'converted_by' in meta
        fmt = 'mmdet_eca' if has_eca or converted else \
            'openmmlab efficientnet'
        if converted:
            notes.append(f"written by {meta['converted_by']} from "
                         f"{meta.get('source')} ({meta.get('source_format')})")
    state_dict, se_keys = split_attention(state_dict)
    spec = detect_efficientnet(state_dict)
    check_efficientnet_state_dict(spec, state_dict)
    return EfficientNetConversion(fmt, spec, state_dict, se_keys + dropped,
                                  notes, prefix)
