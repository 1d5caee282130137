"""Train a detector with an mmdet-eca config (MMDetection's tools/train.py
command line). A thin CLI over :mod:`mmdet_eca.engine`.

Bad input (a missing file, a config typo, a broken annotation file or
checkpoint) ends with one line, ``error: ...``, and exit status 1; checkpoints
are saved atomically, so ``--resume`` after a crash continues from the last
complete one.
"""
import argparse
import os
import sys

from mmengine.config import DictAction

import mmdet_eca  # noqa: F401  (registers the ECA backbones and hooks)
from mmdet_eca.engine import (build_runner, check_train_files, load_config,
                              run_tool, setup_train_config)

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
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs such as '
        'train_dataloader.batch_size=4')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument(
        '--debug',
        action='store_true',
        help='show the full traceback when something fails')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def train(args) -> None:
    cfg = load_config(args.config, args.cfg_options, args.work_dir,
                      args.launcher)
    setup_train_config(cfg, args.amp, args.auto_scale_lr, args.resume)
    check_train_files(cfg)
    build_runner(cfg).train()


def main(argv=None) -> int:
    """Train; returns the exit status (0 on success)."""
    args = parse_args(argv)
    return run_tool(lambda: train(args), debug=args.debug)


if __name__ == '__main__':
    sys.exit(main())
