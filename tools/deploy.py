"""Deploy an ECA detector to ONNX with mmdeploy, checked in onnxruntime.

A thin command line over :func:`mmdet_eca.deploy.deploy_onnx`: mmdeploy's
``torch2onnx`` with the shipped onnxruntime deploy config (NMS in the
graph, any input size), the TorchScript exporter on every torch, then the
file's detections in onnxruntime matched against PyTorch's on IMAGE. The
file is renamed into place only once they match.
"""
import argparse
import sys

EXAMPLES = """examples:
  python tools/deploy.py configs/retinanet_ecanet50_fpn_1x_coco.py \\
      work_dirs/retinanet_ecanet50/epoch_12.pth demo.jpg \\
      work_dirs/deploy/retinanet_ecanet50.onnx
  python tools/deploy.py CONFIG CHECKPOINT IMAGE OUT.onnx \\
      --deploy-cfg my_deploy_cfg.py --top-k 20 --force
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Export a whole detector (NMS included) with mmdeploy '
        'for onnxruntime and check it against PyTorch',
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='detector config file')
    parser.add_argument('checkpoint', help='detector checkpoint')
    parser.add_argument(
        'image', help='image to record the graph with and to check on')
    parser.add_argument('output', help='ONNX file to write')
    parser.add_argument(
        '--deploy-cfg',
        help='mmdeploy deploy config (default: the shipped '
        'configs/deploy/detection_onnxruntime_dynamic.py)')
    parser.add_argument(
        '--top-k',
        type=int,
        default=10,
        help="how many of PyTorch's best detections onnxruntime must "
        'return too (default: 10)')
    parser.add_argument(
        '--score-tolerance',
        type=float,
        default=1e-4,
        help='largest accepted score difference (default: 1e-4)')
    parser.add_argument(
        '--box-tolerance',
        type=float,
        default=0.05,
        help='largest accepted box coordinate difference in pixels '
        '(default: 0.05)')
    parser.add_argument(
        '--force', action='store_true', help='overwrite output if it exists')
    parser.add_argument(
        '--debug',
        action='store_true',
        help='show the full traceback when something fails')
    return parser.parse_args(argv)


def deploy(args) -> None:
    """Export, check, and print what was written."""
    from mmdet_eca.deploy import deploy_onnx, format_result
    if args.top_k < 1:
        raise ValueError(f'--top-k {args.top_k}: expected at least 1')
    result = deploy_onnx(
        args.config,
        args.checkpoint,
        args.image,
        args.output,
        deploy_cfg=args.deploy_cfg,
        top_k=args.top_k,
        score_tolerance=args.score_tolerance,
        box_tolerance=args.box_tolerance,
        force=args.force)
    print(format_result(result))


def main(argv=None) -> int:
    """Run the deployment; returns the exit status (0 on success)."""
    args = parse_args(argv)
    # imported after parsing so that --help does not wait for mmdet
    from mmdet_eca.engine import run_tool
    return run_tool(lambda: deploy(args), debug=args.debug)


if __name__ == '__main__':
    sys.exit(main())
