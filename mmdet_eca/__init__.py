"""Efficient Channel Attention (ECA-Net) for MMDetection 3.x.

Importing this package registers its components in MMDetection's
registries, so a config needs only::

    custom_imports = dict(imports=['mmdet_eca'], allow_failed_imports=False)

Its one process-wide effect: it lets ``torch.load`` (weights-only since
torch 2.6) read what MMEngine puts into checkpoints (see
:mod:`mmdet_eca.engine.safe_load`), so resuming and testing work.
"""
from . import checkpoint  # noqa: F401  (weight conversion)
from .backbones import (ECAEfficientNet, ECAMobileNetV2, ECAResNet,
                        ECAResNetV1d)
from .engine import (AtomicCheckpointHook, CheckedLoadHook, ClassCountHook,
                     RandomStateHook, SafeRunner, ScaleLRHook,
                     allow_mmengine_checkpoints)
from .errors import CheckpointError, ConfigError, DataError, MissingFileError
from .layers import ECAModule, eca_kernel_size
from .version import __version__

allow_mmengine_checkpoints()

__all__ = [
    'AtomicCheckpointHook', 'CheckedLoadHook', 'CheckpointError',
    'ClassCountHook', 'ConfigError', 'DataError', 'ECAEfficientNet',
    'ECAMobileNetV2', 'ECAModule', 'ECAResNet', 'ECAResNetV1d',
    'MissingFileError', 'RandomStateHook', 'SafeRunner', 'ScaleLRHook',
    '__version__', 'eca_kernel_size'
]
