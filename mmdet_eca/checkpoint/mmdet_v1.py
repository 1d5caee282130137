"""Upgrading the ECA-Net authors' MMDetection 1.x detectors to 3.x.

The released COCO detectors (Faster R-CNN, Mask R-CNN and RetinaNet on
ECA-ResNet-50/101, github.com/BangguWu/ECANet; ECA-Net, arXiv:1910.03151)
were saved by MMDetection 1.x: ``{'meta': {'mmdet_version': '1.x',
'config': <text>, 'CLASSES', ...}, 'state_dict', 'optimizer'}``. This
module recognises such a file, checks which detector it holds, reads the
backbone's depth and per-stage ECA kernel sizes off its tensors (the
released Mask R-CNN and RetinaNet ECA-50 use 3377, not the ImageNet
release's 3557), and writes ``{'state_dict', 'meta'}`` that a 3.x detector
loads strictly. The tensor mapping itself is :mod:`.mmdet_v1_keys`; the
1.x inference settings (anchor centres, box coding, RoIAlign) are the
configs' business: ``configs/legacy_1.x/``.
"""
import os
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from torch import Tensor

from ..errors import CheckpointError
from ..version import __version__
from .convert import unwrap_checkpoint
from .io import load_checkpoint_file, save_checkpoint
from .mmdet_v1_keys import StateDict, has_v1_layout, upgrade_state_dict
from .spec import BackboneSpec, check_state_dict, detect_backbone

SOURCE_FORMAT = 'MMDetection 1.x detector'
# config file stem of each detector this upgrades
DETECTORS = {
    'FasterRCNN': 'faster_rcnn',
    'MaskRCNN': 'mask_rcnn',
    'RetinaNet': 'retinanet',
}
CONFIG_DIR = 'configs/legacy_1.x'

_MODEL_TYPE = re.compile(r"\bmodel\s*=\s*dict\(\s*type\s*=\s*['\"](\w+)['\"]")


def mmdet_version(checkpoint: Any) -> Optional[str]:
    """The ``meta['mmdet_version']`` a checkpoint records, if any."""
    meta = checkpoint.get('meta') if isinstance(checkpoint, Mapping) else None
    version = meta.get('mmdet_version') if isinstance(meta, Mapping) else None
    return None if version is None else str(version)


def _is_v1_version(version: str) -> bool:
    return version.startswith(('0.', '1.'))


def is_mmdet_v1_checkpoint(checkpoint: Any) -> bool:
    """Whether a loaded file is an MMDetection 1.x detector checkpoint.

    True if its ``meta`` says ``mmdet_version`` 1.x (or 0.x), or, without
    a version, if its heads have a layout only 1.x saved. Any 1.x detector
    counts, also those :func:`upgrade_checkpoint` refuses, so that they
    get its message.

    Args:
        checkpoint (Any): What ``torch.load`` returned.

    Returns:
        bool: Whether :func:`upgrade_checkpoint` is the one to read it.
    """
    version = mmdet_version(checkpoint)
    if version is not None:
        return _is_v1_version(version)
    if not isinstance(checkpoint, Mapping):
        return False
    state_dict = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state_dict, Mapping):
        return False
    return has_v1_layout(
        k[len('module.'):] if k.startswith('module.') else k
        for k in state_dict if isinstance(k, str))


def _declared_detector(checkpoint: Mapping) -> Optional[str]:
    """The ``model = dict(type=...)`` of the 1.x config text, if saved."""
    meta = checkpoint.get('meta')
    text = meta.get('config') if isinstance(meta, Mapping) else None
    match = _MODEL_TYPE.search(text) if isinstance(text, str) else None
    return match.group(1) if match else None


def _detector_from_tensors(state_dict: Mapping[str, Tensor]) -> str:
    if 'bbox_head.retina_cls.weight' in state_dict:
        return 'RetinaNet'
    if ('rpn_head.rpn_cls.weight' in state_dict
            and 'bbox_head.fc_cls.weight' in state_dict):
        if any(k.startswith('mask_head.') for k in state_dict):
            return 'MaskRCNN'
        return 'FasterRCNN'
    heads = sorted({'.'.join(k.split('.')[:2]) for k in state_dict
                    if not k.startswith(('backbone.', 'neck.'))})
    raise CheckpointError(
        'has no Faster R-CNN, Mask R-CNN or RetinaNet heads (expected '
        "'rpn_head.rpn_cls' with 'bbox_head.fc_cls', or "
        f"'bbox_head.retina_cls'); its heads are {', '.join(heads[:4])}"
        f"{', ...' if len(heads) > 4 else ''}")


def detect_detector(checkpoint: Mapping,
                    state_dict: Mapping[str, Tensor]) -> str:
    """Which detector a 1.x checkpoint holds: a key of :data:`DETECTORS`.

    The saved config's ``model = dict(type=...)`` names it; the tensors
    must agree.

    Args:
        checkpoint (Mapping): The loaded file (for ``meta['config']``).
        state_dict (Mapping[str, Tensor]): Its weights, no ``module.``.

    Returns:
        str: ``'FasterRCNN'``, ``'MaskRCNN'`` or ``'RetinaNet'``.

    Raises:
        CheckpointError: For any other detector, or config and tensors
            that disagree.
    """
    declared = _declared_detector(checkpoint)
    supported = ', '.join(DETECTORS)
    if declared is not None and declared not in DETECTORS:
        raise CheckpointError(
            f"is an MMDetection 1.x {declared} (its config says type="
            f"'{declared}'); only {supported} checkpoints can be upgraded")
    found = _detector_from_tensors(state_dict)
    if declared is not None and declared != found:
        raise CheckpointError(
            f"says type='{declared}' in its config, but its tensors are a "
            f'{found}; expected one of {supported} with matching heads')
    return found


def _reject_newer(checkpoint: Mapping, state_dict: Mapping) -> None:
    version = mmdet_version(checkpoint)
    meta = checkpoint.get('meta')
    if version is not None and not _is_v1_version(version):
        saved_by = f'MMDetection {version}'
    elif isinstance(meta, Mapping) and 'mmengine_version' in meta:
        saved_by = f"MMEngine {meta['mmengine_version']} (MMDetection 3.x)"
    elif any(k.startswith('roi_head.') for k in state_dict):
        saved_by = "MMDetection 2.x/3.x ('roi_head.' keys)"
    else:
        return
    raise CheckpointError(
        f'is a detector checkpoint saved by {saved_by}, not 1.x: it loads '
        'into MMDetection 3.x as it is, there is nothing to upgrade')


def _check_neck(state_dict: Mapping, spec: BackboneSpec) -> None:
    """The FPN's lateral convs must take the backbone's last outputs
    (RetinaNet's FPN starts at the second, hence a suffix)."""
    widths = []
    while f'neck.lateral_convs.{len(widths)}.conv.weight' in state_dict:
        key = f'neck.lateral_convs.{len(widths)}.conv.weight'
        widths.append(state_dict[key].shape[1])
    if widths and widths != spec.out_channels[-len(widths):]:
        raise CheckpointError(
            f'has an FPN that takes {widths} channels, but its backbone '
            f'(ResNet-{spec.depth}) gives {spec.out_channels}')


@dataclass
class DetectorUpgrade:
    """A 1.x detector checkpoint, upgraded to 3.x in memory.

    Args:
        detector (str): A key of :data:`DETECTORS`.
        spec (BackboneSpec): The backbone the weights fit.
        num_classes (int): Object classes, without the background.
        state_dict (dict[str, Tensor]): The 3.x weights.
        changes (list[str]): What the upgrade did, one line each.
        notes (list[str]): Remarks for the user. Defaults to [].
        mmdet_version (str, optional): The version the file records.
            Defaults to None.
        classes (tuple[str], optional): Class names the file records
            (1.x ``meta['CLASSES']``). Defaults to None.
        written (str, optional): Path of the written checkpoint, if any.
            Defaults to None.
    """

    detector: str
    spec: BackboneSpec
    num_classes: int
    state_dict: StateDict
    changes: List[str]
    notes: List[str] = field(default_factory=list)
    mmdet_version: Optional[str] = None
    classes: Optional[Tuple[str, ...]] = None
    written: Optional[str] = None

    @property
    def config_depth(self) -> int:
        """Depth of the shipped configs to start from (50 or 101)."""
        return self.spec.depth if self.spec.depth in (50, 101) else 50

    @property
    def config(self) -> str:
        """The legacy config, which keeps the 1.x inference settings."""
        return (f'{CONFIG_DIR}/{DETECTORS[self.detector]}_ecanet'
                f'{self.config_depth}_fpn_1x_coco_v1.py')

    @property
    def modern_config(self) -> str:
        """The same detector's config with the 3.x settings."""
        return (f'configs/{DETECTORS[self.detector]}_ecanet'
                f'{self.config_depth}_fpn_1x_coco.py')

    def meta(self, source: str) -> Dict[str, Any]:
        """The ``meta`` entry of the upgraded checkpoint."""
        meta = dict(
            converted_by=f'mmdet_eca {__version__}',
            source=os.path.basename(source),
            source_format=SOURCE_FORMAT,
            source_mmdet_version=self.mmdet_version,
            detector=self.detector,
            backbone=self.spec.config(),
            depth=self.spec.depth,
            eca_kernel_sizes=self.spec.kernel_sizes_str,
            num_classes=self.num_classes,
            config=self.config,
            changes=list(self.changes))
        if self.classes:
            # where mmdet's init_detector looks for the class names
            meta['dataset_meta'] = dict(classes=self.classes)
        return meta


def _class_names(checkpoint: Mapping,
                 num_classes: int) -> Optional[Tuple[str, ...]]:
    meta = checkpoint.get('meta')
    names = meta.get('CLASSES') if isinstance(meta, Mapping) else None
    if (isinstance(names, (list, tuple)) and len(names) == num_classes
            and all(isinstance(n, str) for n in names)):
        return tuple(names)
    return None


def upgrade_checkpoint(checkpoint: Any) -> DetectorUpgrade:
    """Upgrade a loaded MMDetection 1.x detector checkpoint (no file access).

    Args:
        checkpoint (Any): What ``torch.load`` returned.

    Returns:
        DetectorUpgrade: The 3.x weights and what was found and done.

    Raises:
        CheckpointError: For 2.x/3.x files, files that are not 1.x
            detectors, other detector types, and tensors that fit no
            ECA-ResNet or head.
    """
    state_dict, had_prefix = unwrap_checkpoint(checkpoint)
    _reject_newer(checkpoint, state_dict)
    if not is_mmdet_v1_checkpoint(checkpoint):
        raise CheckpointError(
            "is not an MMDetection 1.x detector checkpoint: expected "
            "meta['mmdet_version'] 1.x, or 1.x's top-level 'bbox_head.' "
            "next to 'rpn_head.'")
    detector = detect_detector(checkpoint, state_dict)
    prefix = 'backbone.'
    backbone = {k[len(prefix):]: v for k, v in state_dict.items()
                if k.startswith(prefix)}
    try:
        spec = detect_backbone(backbone)
        check_state_dict(spec, backbone)
    except CheckpointError as err:
        raise CheckpointError(f'backbone: {err}') from err
    _check_neck(state_dict, spec)
    upgraded, num_classes, changes = upgrade_state_dict(state_dict, detector)

    version = mmdet_version(checkpoint)
    notes = []
    if version is None:
        notes.append("no meta['mmdet_version']: recognised as 1.x by its "
                     'head layout')
    if had_prefix:
        notes.append("removed the 'module.' prefix (a DataParallel save)")
    if 'optimizer' in checkpoint:
        notes.append('optimizer state left out (testing and fine-tuning '
                     'start without it)')
    return DetectorUpgrade(detector, spec, num_classes, upgraded, changes,
                           notes, version,
                           _class_names(checkpoint, num_classes))


def convert_mmdet_v1(src: str,
                     dst: Optional[str] = None,
                     force: bool = False,
                     checkpoint: Any = None) -> DetectorUpgrade:
    """Upgrade the 1.x detector checkpoint ``src`` and save it to ``dst``.

    Args:
        src (str): Path of the 1.x checkpoint.
        dst (str, optional): Where to write the 3.x checkpoint
            (``{'state_dict', 'meta'}``, written atomically); None only
            reports. Defaults to None.
        force (bool): Replace ``dst`` if it exists. Defaults to False.
        checkpoint (Any): ``src`` already loaded, to spare a second read.
            Defaults to None (load ``src``).

    Returns:
        DetectorUpgrade: What was found and done; ``written`` is ``dst``
        when saved.

    Raises:
        CheckpointError: Naming ``src``, if it cannot be read or upgraded.
        FileExistsError: If ``dst`` exists and ``force`` is False.
        ValueError: If ``dst`` is ``src``.
    """
    if dst is not None and os.path.abspath(dst) == os.path.abspath(src):
        raise ValueError(f'{dst}: is the source file; choose another '
                         'destination for the upgraded checkpoint')
    try:
        if checkpoint is None:
            checkpoint = load_checkpoint_file(src)
        result = upgrade_checkpoint(checkpoint)
    except CheckpointError as err:
        raise CheckpointError(f'{src}: {err}') from err
    if dst is not None:
        save_checkpoint(
            dict(state_dict=result.state_dict, meta=result.meta(src)), dst,
            force)
        result.written = dst
    return result


def read_mmdet_v1(src: str) -> Optional[Any]:
    """``src`` loaded, if it is an MMDetection 1.x detector checkpoint.

    Lets a caller that handles several formats read the file once.

    Args:
        src (str): Path of a checkpoint.

    Returns:
        Any: The loaded file, or None if it is not a 1.x detector.

    Raises:
        CheckpointError: Naming ``src``, if it cannot be read at all.
    """
    try:
        checkpoint = load_checkpoint_file(src)
    except CheckpointError as err:
        raise CheckpointError(f'{src}: {err}') from err
    return checkpoint if is_mmdet_v1_checkpoint(checkpoint) else None
