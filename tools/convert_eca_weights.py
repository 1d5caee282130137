"""Convert ECA-Net ImageNet weights into an mmdet_eca backbone checkpoint.

A thin command line over :func:`mmdet_eca.checkpoint.convert`. It reads
the official release (``eca_resnet50_k3557.pth.tar``, ...,
``eca_mobilenetv2_k13.pth.tar``) and timm's ``ecaresnet50d``/``101d``
weights, prints the depth and per-stage kernel sizes found in the tensors,
writes ``{'state_dict', 'meta'}`` without the classifier, and prints the
backbone settings a config needs to load the result.
"""
import argparse
import sys
import traceback

EXAMPLES = """examples:
  python tools/convert_eca_weights.py eca_resnet50_k3557.pth.tar \\
      checkpoints/eca_resnet50_k3557_mmdet.pth
  python tools/convert_eca_weights.py eca_mobilenetv2_k13.pth.tar \\
      checkpoints/eca_mobilenetv2_k13_mmdet.pth
  python tools/convert_eca_weights.py ecaresnet50d.pth \\
      checkpoints/ecaresnet50d_mmdet.pth
  python tools/convert_eca_weights.py eca_resnet101_k3357.pth.tar
      (no destination: only report what the file holds)

then set the printed path in the config:
  model = dict(backbone=dict(type='ECAResNet', depth=50,
      eca_kernel_sizes='3557', init_cfg=dict(type='Pretrained',
      checkpoint='checkpoints/eca_resnet50_k3557_mmdet.pth')))
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert official ECA-Net or timm ECA-ResNet-D ImageNet '
        'weights into an mmdet_eca backbone checkpoint',
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        'src',
        help='source checkpoint: an official ECA-Net .pth.tar, a timm '
        'ecaresnet50d/101d .pth, or a state_dict of either')
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


def main(argv=None) -> int:
    """Run the converter; returns the exit status (0 on success)."""
    args = parse_args(argv)
    # imported after parsing so that --help does not wait for mmdet
    from mmdet_eca.checkpoint import (convert, format_report,
                                      inspect_checkpoint)
    try:
        if args.dst is None:
            result = inspect_checkpoint(args.src)
        else:
            result = convert(args.src, args.dst, force=args.force)
    except (ValueError, OSError) as err:  # bad input: CheckpointError, ...
        if args.debug:
            traceback.print_exc()
        print(f'error: {err}', file=sys.stderr)
        return 1
    except Exception as err:  # noqa: B902  a bug: say so, in one line
        if args.debug:
            raise
        print(f'error: {args.src}: {type(err).__name__}: {err} (run with '
              '--debug for the traceback)', file=sys.stderr)
        return 1
    print(format_report(result, args.src))
    return 0


if __name__ == '__main__':
    sys.exit(main())
