from .eca_resnet import (ECABasicBlock, ECABottleneck, ECAResNet,
                         ECAResNetV1d, parse_kernel_sizes)

__all__ = [
    'ECABasicBlock', 'ECABottleneck', 'ECAResNet', 'ECAResNetV1d',
    'parse_kernel_sizes'
]
