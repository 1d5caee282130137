"""Convert ECA-Net ImageNet weights into an mmdet_eca backbone checkpoint,
or upgrade the authors' MMDetection 1.x COCO detectors to 3.x.

A thin command line over :func:`mmdet_eca.checkpoint.convert`. It reads
the official release (``eca_resnet50_k3557.pth.tar``, ...,
``eca_mobilenetv2_k13.pth.tar``) and timm's ``ecaresnet50d``/``101d``
weights, prints the depth and per-stage kernel sizes found in the tensors,
writes ``{'state_dict', 'meta'}`` without the classifier, and prints the
backbone settings a config needs to load the result. EfficientNet weights
with SE (the OpenMMLab classification release MMDetection's EfficientNet
configs load, timm's ``efficientnet_b*``/``tf_efficientnet_b*``) become
``ECAEfficientNet`` weights without the SE layers, which it names; the
ECA layers then start from their initialisation.

MMDetection 1.x detector files (the released Faster R-CNN, Mask R-CNN and
RetinaNet) go to :func:`mmdet_eca.checkpoint.convert_mmdet_v1` instead,
which writes a 3.x detector checkpoint and prints the legacy config and
the commands to test or fine-tune it.
"""
import argparse
import sys

EXAMPLES = """examples:
  python tools/convert_eca_weights.py eca_resnet50_k3557.pth.tar \\
      checkpoints/eca_resnet50_k3557_mmdet.pth
  python tools/convert_eca_weights.py eca_mobilenetv2_k13.pth.tar \\
      checkpoints/eca_mobilenetv2_k13_mmdet.pth
  python tools/convert_eca_weights.py ecaresnet50d.pth \\
      checkpoints/ecaresnet50d_mmdet.pth
  python tools/convert_eca_weights.py \\
      efficientnet-b3_3rdparty_8xb32-aa_in1k_20220119-5b4887a0.pth \\
      checkpoints/efficientnet-b3_eca_mmdet.pth
      (EfficientNet with SE: all but the SE layers, for ECAEfficientNet)
  python tools/convert_eca_weights.py eca_resnet101_k3357.pth.tar
      (no destination: only report what the file holds)
  python tools/convert_eca_weights.py \\
      mask_rcnn_ecanet50_k3377_bs8_lr0.01.pth \\
      checkpoints/mask_rcnn_ecanet50_k3377_mmdet.pth
      (an MMDetection 1.x detector: upgraded to 3.x)

then set the printed path in the config:
  model = dict(backbone=dict(type='ECAResNet', depth=50,
      eca_kernel_sizes='3557', init_cfg=dict(type='Pretrained',
      checkpoint='checkpoints/eca_resnet50_k3557_mmdet.pth')))
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert official ECA-Net, timm ECA-ResNet-D or SE '
        'EfficientNet ImageNet weights into an mmdet_eca backbone '
        'checkpoint',
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        'src',
        help='source checkpoint: an official ECA-Net .pth.tar, a timm '
        'ecaresnet50d/101d .pth, a state_dict of either, an SE '
        'EfficientNet (OpenMMLab or timm), or a released MMDetection 1.x '
        'ECA detector')
    parser.add_argument(
        'dst',
        nargs='?',
        help='where to write the converted checkpoint (folders are '
        'created); omit to only report what src holds')
    parser.add_argument(
        '--force', action='store_true', help='overwrite dst if it exists')
    parser.add_argument(
        '--debug',
        action='store_true',
        help='show the full traceback when something fails')
    return parser.parse_args(argv)


def convert_and_report(args) -> None:
    """Convert (or inspect) ``args.src`` and print the report."""
    from mmdet_eca.checkpoint import (convert, convert_mmdet_v1,
                                      format_report, format_upgrade_report,
                                      inspect_checkpoint, read_mmdet_v1)
    v1_detector = read_mmdet_v1(args.src)
    if v1_detector is not None:
        result = convert_mmdet_v1(
            args.src, args.dst, args.force, checkpoint=v1_detector)
        print(format_upgrade_report(result, args.src))
        return
    if args.dst is None:
        result = inspect_checkpoint(args.src)
    else:
        result = convert(args.src, args.dst, force=args.force)
    print(format_report(result, args.src))


def main(argv=None) -> int:
    """Run the converter; returns the exit status (0 on success)."""
    args = parse_args(argv)
    # imported after parsing so that --help does not wait for mmdet
    from mmdet_eca.engine import run_tool
    return run_tool(lambda: convert_and_report(args), debug=args.debug)


if __name__ == '__main__':
    sys.exit(main())
