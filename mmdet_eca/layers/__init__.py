from .eca import ECAModule, check_kernel_size, eca_kernel_size

__all__ = ['ECAModule', 'check_kernel_size', 'eca_kernel_size']
