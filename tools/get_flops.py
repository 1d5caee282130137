"""Parameters and FLOPs of a backbone, next to the ECA paper's numbers.

A thin command line over :mod:`analysis_tools.flops`: it builds the
backbone of a config (``cfg.model.backbone``) or a backbone named like
``ECAResNet-50``, ``ResNet-101``, ``SEResNet-50``, ``ECAEfficientNet-B0``,
``EfficientNet-B0`` (MMDetection's, with SE) or ``PlainEfficientNet-B0`` (no
attention), and prints its parameters and operation counts, alone and with
the ImageNet classifier head the paper's table includes. Several models
are counted in one table, side by side. With ``--detector`` it counts
whole detectors from configs instead: their parameters and the
multiply-adds of backbone + neck, with the differences to the first.
"""
import argparse
import os

import mmdet_eca  # noqa: F401  (registers the ECA backbones)
from analysis_tools import BACKBONES, build_backbone, parse_resolution
from analysis_tools.detectors import detector_table
from analysis_tools.flops import complexity_table

EXAMPLES = """examples:
  python tools/get_flops.py ECAResNet-50
  python tools/get_flops.py ResNet-50 --resolution 800x1216
  python tools/get_flops.py configs/mask_rcnn_ecanet50_fpn_1x_coco.py
  python tools/get_flops.py ECAEfficientNet-B0 EfficientNet-B0 \\
      PlainEfficientNet-B0
  python tools/get_flops.py --detector --resolution 640 \\
      mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py \\
      configs/rtmdet/rtmdet_tiny-eca_8xb32-300e_coco.py
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        'model',
        nargs='+',
        help='config files (their model.backbone is counted) or backbone '
        f'names: one of {", ".join(BACKBONES)} and a depth or an arch, e.g. '
        'ECAResNet-50 or ECAEfficientNet-B0')
    parser.add_argument(
        '--resolution',
        type=parse_resolution,
        default=(224, 224),
        help='input height x width (default: 224x224, as in the paper)')
    parser.add_argument(
        '--batch', type=int, default=1, help='images per forward (default 1)')
    parser.add_argument(
        '--detector',
        action='store_true',
        help='count whole detectors of config files: parameters, and '
        'multiply-adds of backbone + neck for one image of --resolution '
        "(mmdet::<folder>/<file>.py names MMDetection's own configs)")
    return parser.parse_args(argv)


def build(model):
    """The backbone and its name from a config path or a backbone name."""
    if model.endswith('.py') or os.path.isfile(model):
        from mmdet.registry import MODELS
        from mmengine.config import Config
        from mmengine.registry import init_default_scope
        cfg = Config.fromfile(model)
        init_default_scope('mmdet')
        backbone_cfg = cfg.model.backbone
        name = backbone_cfg['type']
        if 'depth' in backbone_cfg:
            name = f'{name}-{backbone_cfg["depth"]}'
        elif 'arch' in backbone_cfg:
            name = f'{name}-{backbone_cfg["arch"].upper()}'
        return MODELS.build(backbone_cfg), name
    return build_backbone(model), model


def main(argv=None):
    args = parse_args(argv)
    if args.detector:
        print(detector_table(args.model, args.resolution))
        return
    backbones = dict(reversed(build(model)) for model in args.model)
    print(complexity_table(backbones, args.batch, args.resolution))


if __name__ == '__main__':
    main()
