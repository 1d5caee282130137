"""Train a detector: MMDetection's tools/train.py, as an example over
:mod:`mmdet_eca.engine.defaults`.

It runs the same path as MMDetection's own tool (the config's runner and
hooks give the crash-safe checkpoints, lossless resume and checked
loading), and ends bad input (a missing file, a config typo, a broken
annotation file or checkpoint) with one line, ``error: ...``, and exit
status 1.
"""
import argparse
import sys

import mmdet_eca  # noqa: F401  (registers the ECA backbones and hooks)
from mmdet_eca.engine import (add_runner_arguments, build_runner,
                              close_distributed, load_config,
                              parse_runner_args, run_tool, setup_train_config)

EXAMPLES = """examples:
  python tools/train.py configs/mask_rcnn_ecanet50_fpn_1x_coco.py
  python tools/train.py CONFIG --work-dir work_dirs/run1 --resume
  python tools/train.py CONFIG --cfg-options train_dataloader.batch_size=4
  torchrun --nproc_per_node=2 tools/train.py CONFIG --launcher pytorch
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train a detector',
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help="enable MMEngine's automatic lr scaling (auto_scale_lr); "
        "refused with ScaleLRHook on (all shipped configs), which already "
        'scales the lr')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or, with no path, from the '
        'latest checkpoint in the work dir')
    add_runner_arguments(parser, 'train_dataloader.batch_size=4')
    return parse_runner_args(parser, argv)


def train(args) -> None:
    cfg = load_config(args.config, args.cfg_options, args.work_dir,
                      args.launcher)
    setup_train_config(cfg, args.amp, args.auto_scale_lr, args.resume)
    build_runner(cfg).train()
    close_distributed()


def main(argv=None) -> int:
    """Train; returns the exit status (0 on success)."""
    args = parse_args(argv)
    return run_tool(lambda: train(args), debug=args.debug)


if __name__ == '__main__':
    sys.exit(main())
