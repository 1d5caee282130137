"""Draw a detector's predictions (boxes, masks, class names, scores) on
images and save them as PNGs. A thin CLI over
:func:`demo_utils.draw_predictions`.

The checkpoint must fit the config's model exactly; bad input ends with one
line, ``error: ...``, and exit status 1, before any PNG is written.
"""
import argparse
import sys

import mmdet_eca  # noqa: F401  (registers the ECA backbones)
from demo_utils import draw_predictions, list_images
from mmdet_eca.engine import (add_debug_argument, check_checkpoint_fits,
                              run_tool)

EXAMPLES = """examples:
  python tools/infer.py demo.jpg CONFIG CHECKPOINT --out-dir vis
  python tools/infer.py data/demo_shapes/val \\
      configs/demo/mask_rcnn_ecanet18_fpn_shapes_demo.py \\
      work_dirs/demo/epoch_16.pth --out-dir work_dirs/demo/infer
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('inputs', metavar='IMAGE_OR_DIR',
                        help='an image, or a folder of images')
    parser.add_argument('config', help='detector config file')
    parser.add_argument('checkpoint', help='trained checkpoint file')
    parser.add_argument('--out-dir', required=True,
                        help='folder to save the drawn PNGs in')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='draw predictions scoring at least this')
    parser.add_argument('--device', default='cpu',
                        help="device to run on, e.g. 'cpu' or 'cuda:0'")
    add_debug_argument(parser)
    return parser.parse_args(argv)


def infer(args) -> None:
    images = list_images(args.inputs)
    check_checkpoint_fits(args.config, args.checkpoint)
    written = draw_predictions(args.config, args.checkpoint, images,
                               args.out_dir, args.score_thr, args.device)
    print(f'saved {len(written)} image(s) with predictions in {args.out_dir}')


def main(argv=None) -> int:
    """Draw predictions; returns the exit status (0 on success)."""
    args = parse_args(argv)
    return run_tool(lambda: infer(args), debug=args.debug)


if __name__ == '__main__':
    sys.exit(main())
