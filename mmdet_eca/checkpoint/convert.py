"""Converting ECA-Net ImageNet weights into mmdet_eca backbone checkpoints.

Sources it reads:

- ``official``: the ECA-Net release (``eca_resnet{18,34,50,101,152}_k*``
  and ``eca_mobilenetv2_k13`` ``.pth.tar``): a dict with ``state_dict``,
  ``epoch``, ``arch``, ``best_prec1``, ``optimizer``, or a bare state dict,
  with or without DataParallel's ``module.`` prefix. Becomes ``ECAResNet``
  or ``ECAMobileNetV2`` weights.
- ``timm``: timm's ``ecaresnet50d``/``ecaresnet101d`` state dicts. Become
  ``ECAResNetV1d`` weights.
- ``mmdet_eca`` and ``mmdet detector``: checkpoints already in this
  project's names (a converted backbone, or a detector with ``backbone.``
  keys). Recognised and reported; there is nothing to convert.
- ``mmpretrain``: an mmpretrain classifier trained from
  ``configs/mmpretrain/`` (``backbone.``, ``head.`` keys). It loads as it
  is with ``prefix='backbone.'``; converting keeps the backbone alone.

The output is ``{'state_dict': ..., 'meta': ...}`` with the classifier
dropped, everything else renamed one to one, and the detected depth and
kernel sizes recorded in ``meta``. The result is checked against the
backbone it claims to fit before anything is written.
"""
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from torch import Tensor

from ..backbones.efficientnet_keys import is_efficientnet
from ..backbones.official_keys import (MOBILENET_V2_HEAD, RESNET_HEAD,
                                       convert_official_mobilenet_v2,
                                       convert_official_resnet,
                                       is_official_mobilenet_v2)
from ..backbones.timm_keys import (TIMM_HEAD, convert_timm_resnet_d,
                                   is_timm_resnet, tiered_stem)
from ..errors import CheckpointError
from ..version import __version__
from .efficientnet import EFFICIENTNET_FORMATS, convert_efficientnet
from .io import load_checkpoint_file, save_checkpoint, state_dict_of
from .spec import BackboneSpec, check_state_dict, detect_backbone

SOURCE_FORMATS = {
    'official': 'official ECA-Net release (github.com/BangguWu/ECANet)',
    'timm': 'timm ECA-ResNet-D (ecaresnet*d)',
    'mmdet_eca': 'mmdet_eca backbone checkpoint (already converted)',
    'mmdet detector': "MMDetection detector checkpoint ('backbone.' keys)",
    'mmpretrain': "mmpretrain classifier checkpoint ('backbone.' and "
    "'head.' keys)",
    **EFFICIENTNET_FORMATS,
}


@dataclass
class ConversionResult:
    """What a source checkpoint holds, in mmdet_eca's names.

    Args:
        source_format (str): A key of :data:`SOURCE_FORMATS`.
        spec (BackboneSpec): The backbone the weights fit.
        state_dict (dict[str, Tensor]): The backbone weights, renamed.
        dropped (list[str]): Source keys left out (the classifier).
        notes (list[str]): Remarks for the user, e.g. ignored fields.
        prefix (str, optional): Where the backbone sits in the source
            (``'backbone.'`` for detectors). Defaults to None.
        written (str, optional): Path of the written checkpoint, if any.
            Defaults to None.
    """

    source_format: str
    spec: BackboneSpec
    state_dict: Dict[str, Tensor]
    dropped: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    prefix: Optional[str] = None
    written: Optional[str] = None

    @property
    def needs_conversion(self) -> bool:
        """False for sources already in mmdet_eca's names."""
        return (self.source_format in ('official', 'timm', 'mmpretrain')
                or self.source_format in EFFICIENTNET_FORMATS)

    def meta(self, source: str) -> Dict[str, Any]:
        """The ``meta`` entry of the converted checkpoint."""
        return dict(
            converted_by=f'mmdet_eca {__version__}',
            source=os.path.basename(source),
            source_format=self.source_format,
            backbone=self.spec.config(),
            depth=self.spec.depth,
            eca_kernel_sizes=self.spec.kernel_sizes_str,
            dropped_keys=list(self.dropped))


def unwrap_checkpoint(checkpoint: Any) -> Tuple[Dict[str, Tensor], bool]:
    """The state dict inside ``checkpoint``, without ``module.`` prefixes.

    Args:
        checkpoint (Any): What ``torch.load`` returned.

    Returns:
        tuple[dict[str, Tensor], bool]: The state dict, and whether a
        ``module.`` prefix was removed.

    Raises:
        CheckpointError: If there is no state dict of tensors.
    """
    state_dict = state_dict_of(checkpoint)
    stripped = {
        (k[len('module.'):] if k.startswith('module.') else k): v
        for k, v in state_dict.items()
    }
    return stripped, any(k.startswith('module.') for k in state_dict)


def identify_format(state_dict: Mapping[str, Tensor],
                    checkpoint: Mapping, had_prefix: bool = False) -> str:
    """Which of :data:`SOURCE_FORMATS` a state dict is in.

    Official ECA-ResNet names equal mmdet_eca's, so the wrapper decides:
    a ``meta`` entry without DataParallel prefix or classifier marks a
    checkpoint this project (or MMEngine) wrote.

    Args:
        state_dict (Mapping[str, Tensor]): Weights without ``module.``.
        checkpoint (Mapping): The whole loaded file.
        had_prefix (bool): Whether ``module.`` prefixes were removed.
            Defaults to False.

    Returns:
        str: The format's key.

    Raises:
        CheckpointError: If the names belong to none of them.
    """
    if any(k.startswith('backbone.') for k in state_dict):
        # an ImageClassifier's head is 'head.'; detectors name theirs
        # rpn_head, roi_head, bbox_head, ...
        if any(k.startswith('head.') for k in state_dict):
            return 'mmpretrain'
        return 'mmdet detector'
    if is_official_mobilenet_v2(state_dict):
        return 'official'
    if is_timm_resnet(state_dict):
        return 'timm'
    if 'stem.0.weight' in state_dict or 'conv1.conv.weight' in state_dict:
        return 'mmdet_eca'
    if 'conv1.weight' in state_dict and 'layer1.0.conv1.weight' in state_dict:
        has_head = any(k in state_dict for k in RESNET_HEAD)
        if 'meta' in checkpoint and not (had_prefix or has_head):
            return 'mmdet_eca'
        return 'official'
    sample = ', '.join(repr(k) for k in list(state_dict)[:3])
    raise CheckpointError(
        'is not an ECA-Net checkpoint: expected official ECA-Net, timm '
        "ecaresnet*d or mmdet_eca weights (keys such as 'conv1.weight', "
        f"'layer1.0.eca.conv.weight'); found {sample}, ...")


def _rename(fmt: str,
            state_dict: Dict[str, Tensor]) -> Tuple[Dict, List[str], str]:
    """Map an official or timm state dict; returns (weights, dropped, what)."""
    if fmt == 'timm':
        if 'conv1.weight' in state_dict:
            raise CheckpointError(
                'is a timm ECA-ResNet with a one-conv stem (ecaresnetlight?); '
                'only timm\'s ResNet-D models (ecaresnet50d, ecaresnet101d) '
                'fit the backbones')
        problem = tiered_stem(state_dict)
        if problem:
            raise CheckpointError(problem)
        what, head = 'a timm ECA-ResNet-D', TIMM_HEAD
        converted, unconverted = convert_timm_resnet_d(state_dict)
    elif is_official_mobilenet_v2(state_dict):
        what, head = 'an official ECA-MobileNetV2', MOBILENET_V2_HEAD
        converted, unconverted = convert_official_mobilenet_v2(state_dict)
    else:
        what, head = 'an official ECA-ResNet', RESNET_HEAD
        converted, unconverted = convert_official_resnet(state_dict)
    foreign = [k for k in unconverted if k not in head]
    if foreign:
        raise CheckpointError(
            f'has {len(foreign)} key(s) that are not part of {what}, '
            f'e.g. {foreign[0]!r}')
    return converted, unconverted, what


def convert_state_dict(checkpoint: Any) -> ConversionResult:
    """Convert a loaded checkpoint (no file access).

    Args:
        checkpoint (Any): What ``torch.load`` returned for the source.

    Returns:
        ConversionResult: The renamed weights and what was found.

    Raises:
        CheckpointError: If it is not an ECA checkpoint this can read, or
            its tensors fit none of the backbones.
    """
    state_dict, had_prefix = unwrap_checkpoint(checkpoint)
    if is_efficientnet(state_dict):
        return ConversionResult(
            **convert_efficientnet(checkpoint, state_dict,
                                   had_prefix)._asdict())
    fmt = identify_format(state_dict, checkpoint, had_prefix)
    notes, dropped, prefix = [], [], None
    if had_prefix:
        notes.append("removed the 'module.' prefix (a DataParallel save)")
    if fmt in ('mmdet detector', 'mmpretrain'):
        prefix = 'backbone.'
        if fmt == 'mmpretrain':
            dropped = [k for k in state_dict if not k.startswith(prefix)]
        state_dict = {
            k[len(prefix):]: v
            for k, v in state_dict.items() if k.startswith(prefix)
        }
    elif fmt in ('official', 'timm'):
        state_dict, dropped, _ = _rename(fmt, state_dict)
    try:
        spec = detect_backbone(state_dict)
        check_state_dict(spec, state_dict)
    except CheckpointError as err:
        if fmt != 'mmpretrain':
            raise
        raise CheckpointError(
            f'{err}, read as an ECA-ResNet or ECA-MobileNetV2 backbone; an '
            'mmpretrain classifier with another backbone (ResNeXt or RegNet '
            'with the ECA plugin, ECACSPNeXt) needs no conversion: give the '
            "detector's backbone init_cfg=dict(type='Pretrained', "
            "checkpoint=<this file>, prefix='backbone.')") from err
    arch = checkpoint.get('arch')
    if isinstance(arch, str):
        notes.append(f"the file's 'arch' field says {arch!r}; ignored, the "
                     'settings were read from the tensors')
    meta = checkpoint.get('meta')
    if isinstance(meta, Mapping) and 'converted_by' in meta:
        notes.append(f"written by {meta['converted_by']} from "
                     f"{meta.get('source')} ({meta.get('source_format')})")
    return ConversionResult(fmt, spec, state_dict, dropped, notes, prefix)


def inspect_checkpoint(src: str) -> ConversionResult:
    """Load ``src`` safely and convert it in memory.

    Args:
        src (str): Path of the source checkpoint.

    Returns:
        ConversionResult: See :func:`convert_state_dict`.

    Raises:
        CheckpointError: Naming ``src`` and what was expected.
    """
    try:
        return convert_state_dict(load_checkpoint_file(src))
    except CheckpointError as err:
        raise CheckpointError(f'{src}: {err}') from err


def convert(src: str, dst: str, force: bool = False) -> ConversionResult:
    """Convert the checkpoint ``src`` and save the backbone weights to ``dst``.

    Sources already in mmdet_eca's names are reported, not rewritten: the
    result's ``written`` is None and nothing is saved.

    Args:
        src (str): Path of the source checkpoint.
        dst (str): Path of the converted checkpoint.
        force (bool): Replace ``dst`` if it exists. Defaults to False.

    Returns:
        ConversionResult: What was found; ``written`` is ``dst`` when saved.

    Raises:
        CheckpointError: If ``src`` cannot be read or converted.
        FileExistsError: If ``dst`` exists and ``force`` is False.
        ValueError: If ``dst`` is ``src``.
    """
    if os.path.abspath(dst) == os.path.abspath(src):
        raise ValueError(f'{dst}: is the source file; choose another '
                         'destination for the converted checkpoint')
    result = inspect_checkpoint(src)
    if result.needs_conversion:
        save_checkpoint(
            dict(state_dict=result.state_dict, meta=result.meta(src)), dst,
            force)
        # the written file holds the backbone alone, under no prefix
        result.written, result.prefix = dst, None
    return result
