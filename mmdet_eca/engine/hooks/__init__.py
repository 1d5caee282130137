from .atomic_checkpoint_hook import AtomicCheckpointHook
from .checked_load_hook import CheckedLoadHook
from .class_count_hook import ClassCountHook
from .fuse_eca_plugins_hook import FuseECAPluginsHook
from .random_state_hook import (RandomStateHook, capture_rng_state,
                                restore_rng_state)
from .scale_lr_hook import ScaleLRHook

__all__ = [
    'AtomicCheckpointHook', 'CheckedLoadHook', 'ClassCountHook',
    'FuseECAPluginsHook', 'RandomStateHook',
    'ScaleLRHook', 'capture_rng_state', 'restore_rng_state'
]
