from .lr_scaling_hook import ScaleLRHook

__all__ = ['ScaleLRHook']
