from .eca import ECAModule
from .kernel_sizes import (KernelSizes, check_kernel_size, eca_kernel_size,
                           format_kernel_sizes, parse_kernel_sizes)

__all__ = [
    'ECAModule', 'KernelSizes', 'check_kernel_size', 'eca_kernel_size',
    'format_kernel_sizes', 'parse_kernel_sizes'
]
