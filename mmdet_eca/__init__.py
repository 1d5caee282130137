"""Efficient Channel Attention (ECA-Net) for MMDetection 3.x.

Importing this package registers its components in MMDetection's
registries, so a config needs only::

    custom_imports = dict(imports=['mmdet_eca'], allow_failed_imports=False)

Its process-wide effects: it lets ``torch.load`` (weights-only since
torch 2.6) read what MMEngine puts into checkpoints (see
:mod:`mmdet_eca.engine.safe_load`), so resuming and testing work; and it
lets MMEngine configs inherit ``mmdet_eca::<folder>/<file>.py`` from an
installed wheel (:func:`mmdet_eca.compat.register_config_package`; a wheel
install also does this in processes that never import the package).
"""
from . import checkpoint  # noqa: F401  (weight conversion)
from . import registry  # noqa: F401  (the mmdet_eca config scope)
from .backbones import (ECACSPDarknet, ECACSPNeXt, ECAEfficientNet,
                        ECAMobileNetV2, ECAResNet, ECAResNetV1d)
from .compat import register_config_package
from .engine import (AtomicCheckpointHook, CheckedLoadHook, ClassCountHook,
                     FuseECAPluginsHook, RandomStateHook, SafeRunner,
                     ScaleLRHook, allow_mmengine_checkpoints)
from .errors import CheckpointError, ConfigError, DataError, MissingFileError
from .layers import ECA, ECAModule, eca_kernel_size, eca_plugins
from .necks import ECAFPN, ECAPAFPN
from .version import __version__

allow_mmengine_checkpoints()
register_config_package('mmdet_eca')

__all__ = [
    'AtomicCheckpointHook', 'CheckedLoadHook', 'CheckpointError',
    'ClassCountHook', 'ConfigError', 'DataError', 'ECA', 'ECACSPDarknet',
    'FuseECAPluginsHook',
    'ECACSPNeXt', 'ECAEfficientNet', 'ECAFPN', 'ECAMobileNetV2', 'ECAModule',
    'ECAPAFPN', 'ECAResNet', 'ECAResNetV1d', 'MissingFileError',
    'RandomStateHook', 'SafeRunner', 'ScaleLRHook', '__version__',
    'eca_kernel_size', 'eca_plugins'
]
