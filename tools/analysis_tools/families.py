"""The families ECA ships on, each as none / ECA / SE models and an input.

A family is the set of models the benchmark times against each other: the
model without attention (the baseline, first), this package's ECA form and
the same network with SE (or the stock attention where the stock model has
one, as RTMDet's CSPNeXt), all built with the same arguments and, where
their parameters have the same names, the same weights. ``--control``
adds a copy of the baseline. The input is what the family's detector feeds
it at the family's default size: an image batch for a backbone, ResNet-50's
four feature maps for the neck.
"""
from typing import Callable, Dict, NamedTuple, Tuple, Union

import torch
from mmdet.models.backbones import (CSPDarknet, CSPNeXt, EfficientNet,
                                    MobileNetV2, ResNet)
from mmdet.models.necks import FPN
from torch import Tensor, nn

from mmdet_eca.backbones import (ECACSPDarknet, ECACSPNeXt, ECAEfficientNet,
                                 ECAMobileNetV2, fuse_eca_plugins)
from mmdet_eca.layers import ECA, eca_plugins
from mmdet_eca.necks import ECAFPN
from .backbones import (EFFICIENTNET_OUT_INDICES, build_comparison,
                        build_sharing_weights)
from .plain_efficientnet import PlainEfficientNet
from .se_places import (SEFPN, SEPlugin, csp_darknet_with_channel_attention,
                        se_mobilenet_v2)

Inputs = Union[Tensor, Tuple[Tensor, ...]]


class Family(NamedTuple):
    """How to build a family's models and input.

    ``build(control, norm_eval)`` returns the models, baseline first;
    ``inputs(batch, (h, w), generator)`` the input; ``resolution`` is the
    default (h, w): the size of the family's config.
    """
    build: Callable[[bool, bool], Dict[str, nn.Module]]
    inputs: Callable[[int, Tuple[int, int], torch.Generator], Inputs]
    resolution: Tuple[int, int]


def _images(batch, size, gen):
    return torch.randn(batch, 3, *size, generator=gen)


def _resnet_features(batch, size, gen):
    # what ResNet-50 hands the neck: strides 4 to 32
    h, w = size
    return tuple(
        torch.randn(batch, c, -(-h // s), -(-w // s), generator=gen)
        for c, s in ((256, 4), (512, 8), (1024, 16), (2048, 32)))


def _resnet_plugin(control, norm_eval):
    kw = dict(depth=50, norm_eval=norm_eval)
    # the classes themselves as types: no default scope here
    eca = [dict(p, cfg=dict(p['cfg'], type=ECA))
           for p in eca_plugins((3, 5, 5, 7))]
    se = [dict(cfg=dict(type=SEPlugin), position='after_conv3')]

    def eca_plugin():
        # as this package's configs run it: FuseECAPluginsHook fuses it
        model = ResNet(plugins=eca, **kw)
        fuse_eca_plugins(model)
        return model

    return build_sharing_weights({
        'ResNet-50': lambda: ResNet(**kw),
        'ResNet-50 + ECA plugin': eca_plugin,
        'ResNet-50 + SE plugin': lambda: ResNet(plugins=se, **kw),
    }, control)


def _mobilenet_v2(control, norm_eval):
    kw = dict(out_indices=(1, 2, 4, 7), norm_eval=norm_eval)
    return build_sharing_weights({
        'MobileNetV2': lambda: MobileNetV2(**kw),
        'ECAMobileNetV2': lambda: ECAMobileNetV2(**kw),
        'MobileNetV2 + SE': lambda: se_mobilenet_v2(**kw),
    }, control)


def _neck(control, norm_eval):
    kw = dict(in_channels=[256, 512, 1024, 2048], out_channels=256,
              num_outs=5)
    return build_sharing_weights({
        'FPN': lambda: FPN(**kw),
        'ECAFPN': lambda: ECAFPN(**kw),
        'FPN + SE': lambda: SEFPN(**kw),
    }, control)


def _rtmdet(control, norm_eval):
    # RTMDet-tiny's backbone (mmdet's rtmdet_tiny config)
    kw = dict(deepen_factor=0.167, widen_factor=0.375, norm_eval=norm_eval)
    return build_sharing_weights({
        'CSPNeXt-tiny': lambda: CSPNeXt(channel_attention=False, **kw),
        'ECACSPNeXt-tiny': lambda: ECACSPNeXt(**kw),
        'CSPNeXt-tiny + ChannelAttention':
        lambda: CSPNeXt(channel_attention=True, **kw),
    }, control)


def _yolox(control, norm_eval):
    # YOLOX-s's backbone (mmdet's yolox_s config)
    kw = dict(deepen_factor=0.33, widen_factor=0.5, norm_eval=norm_eval)
    return build_sharing_weights({
        'CSPDarknet-s': lambda: CSPDarknet(**kw),
        'ECACSPDarknet-s': lambda: ECACSPDarknet(**kw),
        'CSPDarknet-s + ChannelAttention':
        lambda: csp_darknet_with_channel_attention(**kw),
    }, control)


def _resnet(control, norm_eval):
    return build_comparison(50, control=control, norm_eval=norm_eval)


def _efficientnet(arch):

    def build(control, norm_eval):
        kw = dict(arch=arch, out_indices=EFFICIENTNET_OUT_INDICES,
                  norm_eval=norm_eval)
        label = arch.upper()
        return build_sharing_weights({
            f'PlainEfficientNet-{label}': lambda: PlainEfficientNet(**kw),
            f'ECAEfficientNet-{label}': lambda: ECAEfficientNet(**kw),
            f'EfficientNet-{label}': lambda: EfficientNet(**kw),
        }, control)

    return build


FAMILIES: Dict[str, Family] = {
    'resnet': Family(_resnet, _images, (800, 1216)),
    'resnet-plugin': Family(_resnet_plugin, _images, (800, 1216)),
    # RetinaNet's 1333x800, as configs/retinanet_ecamobilenetv2_fpn_1x_coco
    'mobilenetv2': Family(_mobilenet_v2, _images, (800, 1216)),
    # EfficientDet-D0's 512; the B3 config's 896 crop
    'efficientnet-b0': Family(_efficientnet('b0'), _images, (512, 512)),
    'efficientnet-b3': Family(_efficientnet('b3'), _images, (896, 896)),
    'neck': Family(_neck, _resnet_features, (800, 1216)),
    'rtmdet': Family(_rtmdet, _images, (640, 640)),
    'yolox': Family(_yolox, _images, (640, 640)),
}


def build_family(name: str, control: bool = False,
                 norm_eval: bool = True) -> Dict[str, nn.Module]:
    """The models of family ``name`` (a key of :data:`FAMILIES`), the
    baseline first, then the ECA form, then SE (and the copy)."""
    if name not in FAMILIES:
        raise ValueError(f'unknown family {name!r}: expected one of '
                         f'{", ".join(FAMILIES)}')
    return FAMILIES[name].build(control, norm_eval)


def family_inputs(name: str, batch: int, resolution: Tuple[int, int],
                  seed: int = 0) -> Inputs:
    """The input of family ``name`` for a batch at ``resolution``."""
    gen = torch.Generator().manual_seed(seed)
    return FAMILIES[name].inputs(batch, resolution, gen)
