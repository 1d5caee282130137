from .eca import ECAModule
from .eca_plugin import ECA, eca_plugins
from .kernel_sizes import (KernelSizes, check_kernel_size, eca_kernel_size,
                           format_kernel_sizes, parse_kernel_sizes)

__all__ = [
    'ECA', 'ECAModule', 'KernelSizes', 'check_kernel_size', 'eca_kernel_size',
    'eca_plugins', 'format_kernel_sizes', 'parse_kernel_sizes'
]
