from .eca_csp import ECACSPDarknet, ECACSPNeXt, add_eca_to_csp_layers
from .eca_efficientnet import ECAEfficientNet
from .eca_mobilenet_v2 import ECAInvertedResidual, ECAMobileNetV2
from .eca_resnet import (ECABasicBlock, ECABottleneck, ECAResNet,
                         ECAResNetV1d, fuse_eca_plugins)

__all__ = [
    'ECABasicBlock', 'ECABottleneck', 'ECACSPDarknet', 'ECACSPNeXt',
    'ECAEfficientNet', 'ECAInvertedResidual', 'ECAMobileNetV2', 'ECAResNet',
    'ECAResNetV1d', 'add_eca_to_csp_layers', 'fuse_eca_plugins'
]
