"""Export an ECA detector's backbone to ONNX, checked in onnxruntime.

A thin command line over :func:`mmdet_eca.export.export_backbone_onnx`:
it builds the config's ``model.backbone``, loads the checkpoint's backbone
weights, exports with the TorchScript exporter (the one mmdeploy uses) or
the ``torch.export``-based one (``--dynamo``), runs the file in
onnxruntime on an input of another size and compares it with PyTorch. The
file is renamed into place only once that check passes.
"""
import argparse
import sys

EXAMPLES = """examples:
  python tools/export_onnx.py configs/mask_rcnn_ecanet50_fpn_1x_coco.py \\
      work_dirs/mask_rcnn_ecanet50_fpn_1x_coco/epoch_12.pth \\
      ecanet50_backbone.onnx
  python tools/export_onnx.py configs/retinanet_ecanet50_fpn_1x_coco.py \\
      checkpoints/eca_resnet50_k3557_mmdet.pth backbone.onnx --dynamo \\
      --shape 800 1216 --check-shape 1 608 800
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Export an ECA detector's backbone to ONNX and check "
        'it against PyTorch in onnxruntime',
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='detector config file')
    parser.add_argument(
        'checkpoint',
        help='detector checkpoint (its backbone.* weights are exported) or '
        'backbone checkpoint (e.g. from tools/convert_eca_weights.py)')
    parser.add_argument('output', help='ONNX file to write')
    parser.add_argument(
        '--opset',
        type=int,
        help="ONNX opset (default: the exporter's; the dynamo exporter "
        'writes 18 or later and converts down only where it can)')
    parser.add_argument(
        '--dynamo',
        action='store_true',
        help='use the torch.export-based exporter (needs onnxscript) '
        'instead of the TorchScript one')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        default=(320, 320),
        metavar=('H', 'W'),
        help='input height and width to record the graph with; they stay '
        'dynamic in the file (default: 320 320)')
    parser.add_argument(
        '--check-shape',
        type=int,
        nargs=3,
        default=(2, 256, 384),
        metavar=('N', 'H', 'W'),
        help='batch, height and width of the onnxruntime check '
        '(default: 2 256 384)')
    parser.add_argument(
        '--no-check',
        dest='check',
        action='store_false',
        help='write the file without running it in onnxruntime')
    parser.add_argument(
        '--tolerance',
        type=float,
        default=1e-4,
        help='largest accepted difference from PyTorch, relative to the '
        'largest output (default: 1e-4)')
    parser.add_argument(
        '--force', action='store_true', help='overwrite output if it exists')
    parser.add_argument(
        '--debug',
        action='store_true',
        help='show the full traceback when something fails')
    return parser.parse_args(argv)


def export(args) -> None:
    """Export and check the backbone, and print what was written."""
    from mmdet_eca.export import export_backbone_onnx, format_result
    n, h, w = args.check_shape
    result = export_backbone_onnx(
        args.config,
        args.checkpoint,
        args.output,
        export_shape=(1, 3, *args.shape),
        check_shape=(n, 3, h, w) if args.check else None,
        opset=args.opset,
        dynamo=args.dynamo,
        tolerance=args.tolerance,
        force=args.force)
    print(format_result(result))


def main(argv=None) -> int:
    """Run the export; returns the exit status (0 on success)."""
    args = parse_args(argv)
    # imported after parsing so that --help does not wait for mmdet
    from mmdet_eca.engine import run_tool
    return run_tool(lambda: export(args), debug=args.debug)


if __name__ == '__main__':
    sys.exit(main())
