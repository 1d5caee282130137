"""Test (and evaluate) a checkpoint: MMDetection's tools/test.py, as an
example over :mod:`mmdet_eca.engine.defaults`.

With the shipped configs the checkpoint must fit the model exactly
(``CheckedLoadHook``); that, and any other bad input, ends with one line,
``error: ...``, and exit status 1 rather than evaluating a half-loaded
model.
"""
import argparse
import sys

import mmdet_eca  # noqa: F401  (registers the ECA backbones and hooks)
from mmdet_eca.engine import (add_runner_arguments, build_runner,
                              close_distributed, load_config,
                              parse_runner_args, run_tool, setup_test_config)

EXAMPLES = """examples:
  python tools/test.py configs/mask_rcnn_ecanet50_fpn_1x_coco.py latest.pth
  python tools/test.py CONFIG CKPT --out results.pkl --show-dir vis
  torchrun --nproc_per_node=2 tools/test.py CONFIG CKPT --launcher pytorch
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Test (and evaluate) a detector',
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help='the dir to save the evaluation metrics and logs')
    parser.add_argument(
        '--out',
        type=str,
        help='dump the raw predictions to this pickle file (.pkl)')
    parser.add_argument(
        '--show-dir',
        help='draw predictions on the images and save them in this dir, '
        'under the work dir\'s timestamped folder')
    add_runner_arguments(parser, 'test_dataloader.batch_size=4')
    return parse_runner_args(parser, argv)


def evaluate(args) -> dict:
    cfg = load_config(args.config, args.cfg_options, args.work_dir,
                      args.launcher)
    setup_test_config(cfg, args.checkpoint, args.out, args.show_dir)
    metrics = build_runner(cfg).test()
    close_distributed()
    return metrics


def main(argv=None) -> int:
    """Test; returns the exit status (0 on success)."""
    args = parse_args(argv)
    return run_tool(lambda: evaluate(args), debug=args.debug)


if __name__ == '__main__':
    sys.exit(main())
