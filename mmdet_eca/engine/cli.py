"""Command-line flags that tools/train.py and tools/test.py share."""
import argparse
import os
from typing import Optional, Sequence

from mmengine.config import DictAction


def add_runner_arguments(parser: argparse.ArgumentParser,
                         cfg_options_example: str) -> None:
    """Add MMDetection's ``--cfg-options``, ``--launcher``, ``--local-rank``
    and this package's ``--debug`` to ``parser``.

    Args:
        parser (ArgumentParser): A tool's parser.
        cfg_options_example (str): A ``key=value`` pair shown in the help.
    """
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs such as '
        f'{cfg_options_example}')
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


def parse_runner_args(parser: argparse.ArgumentParser,
                      argv: Optional[Sequence[str]] = None):
    """``parser.parse_args(argv)``, exporting ``--local-rank`` as
    ``LOCAL_RANK`` (unless the launcher set it) for MMEngine."""
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args
