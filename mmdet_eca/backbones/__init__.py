from .eca_resnet import (ECABasicBlock, ECABottleneck, ECAResNet,
                         ECAResNetV1d, parse_kernel_sizes)
from .eca_mobilenet_v2 import ECAInvertedResidual, ECAMobileNetV2

__all__ = [
    'ECABasicBlock', 'ECABottleneck', 'ECAResNet', 'ECAResNetV1d',
    'parse_kernel_sizes', 'ECAInvertedResidual', 'ECAMobileNetV2'
]
