"""Convert ECA-Net ImageNet weights (official release, timm) into
mmdet_eca backbone checkpoints, and upgrade the authors' MMDetection 1.x
detectors to 3.x (``convert_mmdet_v1``).

``convert(src, dst)`` is what ``tools/convert_eca_weights.py`` runs; the
``convert_*`` functions below it are pure key mappings that return
``(state_dict, unconverted)``.
"""
from ..backbones.official_keys import (convert_official_mobilenet_v2,
                                       convert_official_resnet)
from ..backbones.timm_keys import convert_timm_resnet_d
from ..errors import CheckpointError
from .convert import (SOURCE_FORMATS, ConversionResult, convert,
                      convert_state_dict, identify_format, inspect_checkpoint,
                      unwrap_checkpoint)
from .io import (folder_problem, load_checkpoint_file, save_checkpoint,
                 state_dict_of)
from .mmdet_v1 import (DetectorUpgrade, convert_mmdet_v1,
                       is_mmdet_v1_checkpoint, read_mmdet_v1,
                       upgrade_checkpoint)
from .mmdet_v1_keys import upgrade_state_dict
from .mmdet_v1_report import format_upgrade_report
from .report import format_report
from .spec import BackboneSpec, check_state_dict, detect_backbone

__all__ = [
    'BackboneSpec', 'CheckpointError', 'ConversionResult', 'DetectorUpgrade',
    'SOURCE_FORMATS', 'check_state_dict', 'convert', 'convert_mmdet_v1',
    'convert_official_mobilenet_v2',
    'convert_official_resnet', 'convert_state_dict', 'convert_timm_resnet_d',
    'detect_backbone', 'folder_problem', 'format_report',
    'format_upgrade_report',
    'identify_format', 'inspect_checkpoint', 'is_mmdet_v1_checkpoint',
    'load_checkpoint_file', 'read_mmdet_v1', 'save_checkpoint',
    'state_dict_of', 'unwrap_checkpoint', 'upgrade_checkpoint',
    'upgrade_state_dict'
]
