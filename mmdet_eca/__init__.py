"""Efficient Channel Attention (ECA-Net) for MMDetection 3.x.

Importing this package registers its components in MMDetection's
registries, so a config needs only::

    custom_imports = dict(imports=['mmdet_eca'], allow_failed_imports=False)

It also lets ``torch.load`` (weights-only since torch 2.6) read the
checkpoints MMEngine writes, so ``--resume`` and ``tools/test.py`` work.
"""
from . import checkpoint  # noqa: F401  (weight conversion)
from .backbones import ECAMobileNetV2, ECAResNet, ECAResNetV1d
from .engine import (AtomicCheckpointHook, SafeRunner,
                     allow_mmengine_checkpoints)
from .hooks import ScaleLRHook
from .layers import ECAModule, eca_kernel_size

__version__ = '0.1.0'

allow_mmengine_checkpoints()

__all__ = ['ECAMobileNetV2', 'ECAModule', 'ECAResNet', 'ECAResNetV1d',
           'eca_kernel_size', 'AtomicCheckpointHook', 'SafeRunner',
           'ScaleLRHook']
