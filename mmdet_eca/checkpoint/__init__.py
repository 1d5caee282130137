"""Convert ECA-Net ImageNet weights (official release, timm) into
mmdet_eca backbone checkpoints.

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
from .io import load_checkpoint_file, save_checkpoint
from .report import format_report
from .spec import BackboneSpec, check_state_dict, detect_backbone

__all__ = [
    'BackboneSpec', 'CheckpointError', 'ConversionResult', 'SOURCE_FORMATS',
    'check_state_dict', 'convert', 'convert_official_mobilenet_v2',
    'convert_official_resnet', 'convert_state_dict', 'convert_timm_resnet_d',
    'detect_backbone', 'format_report', 'identify_format',
    'inspect_checkpoint', 'load_checkpoint_file', 'save_checkpoint',
    'unwrap_checkpoint'
]
