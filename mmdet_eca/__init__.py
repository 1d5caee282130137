"""Efficient Channel Attention (ECA-Net) for MMDetection 3.x.

Importing this package registers its components in MMDetection's
registries, so a config needs only::

    custom_imports = dict(imports=['mmdet_eca'], allow_failed_imports=False)

Its one process-wide effect: it lets ``torch.load`` (weights-only since
torch 2.6) read what MMEngine puts into checkpoints (see
:mod:`mmdet_eca.engine.safe_load`), so resuming and testing work.
"""
from . import checkpoint  # noqa: F401  (weight conversion)
from .backbones import (ECACSPDarknet, ECACSPNeXt, ECAEfficientNet,
                        ECAMobileNetV2, ECAResNet, ECAResNetV1d)
from .engine import (AtomicCheckpointHook, CheckedLoadHook, RandomStateHook,
                     SafeRunner, ScaleLRHook, allow_mmengine_checkpoints)
from .errors import CheckpointError, ConfigError, DataError, MissingFileError
from .layers import ECA, ECAModule, eca_kernel_size, eca_plugins
from .necks import ECAFPN, ECAPAFPN
from .version import __version__

allow_mmengine_checkpoints()

__all__ = [
    'AtomicCheckpointHook', 'CheckedLoadHook', 'CheckpointError',
    'ConfigError', 'DataError', 'ECA', 'ECACSPDarknet', 'ECACSPNeXt',
    'ECAEfficientNet', 'ECAFPN', 'ECAMobileNetV2', 'ECAModule', 'ECAPAFPN',
    'ECAResNet', 'ECAResNetV1d', 'MissingFileError', 'RandomStateHook',
    'SafeRunner', 'ScaleLRHook', '__version__', 'eca_kernel_size',
    'eca_plugins'
]
