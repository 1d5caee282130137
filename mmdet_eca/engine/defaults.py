"""The command-line plumbing the tools share, with MMDetection's flags.

``tools/train.py`` and ``tools/test.py`` are short examples over this
module: parse MMDetection's arguments (:func:`add_runner_arguments`), load
and adjust the config as MMDetection's tools do (:func:`load_config`,
:func:`setup_train_config`, :func:`setup_test_config`), build the runner
the config names (:func:`build_runner`), and run it through
:func:`run_tool`. Everything the project guarantees comes with the config
(its hooks and ``runner_type``), so MMDetection's own tools, ``mim`` and a
notebook's ``RUNNERS.build(cfg)`` get the same runs; these tools add only
the one-line error: ``error: <what, naming the file, key or value, and
what was expected>`` on stderr, exit status 1, and the traceback only with
``--debug``.
"""
import argparse
import os
import os.path as osp
import re
import sys
import traceback
from typing import Any, Callable, Optional, Sequence

from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from ..errors import (CheckpointError, ConfigError, DataError,
                      MissingFileError)
from .config_syntax import syntax_problem
from .explain import explained
from .loading import load_weights, read_checkpoint

# Errors that are about the user's input or set-up (a missing optional
# package); anything else is presumably a bug and is shown with its type
# and a hint to rerun with --debug.
INPUT_ERRORS = (ConfigError, DataError, CheckpointError, OSError, ValueError,
                KeyError, FloatingPointError, ImportError)

# torch re-raises a DataLoader worker's exception with the worker's whole
# traceback as its message
_WORKER = re.compile(r'^Caught (\w+) in DataLoader worker process \d+')
# mmcv's LoadImageFromFile on bytes that do not decode
_UNDECODABLE = re.compile(r'failed to load image: (.+)$')


def add_debug_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--debug``: the traceback besides the one-line error."""
    parser.add_argument(
        '--debug',
        action='store_true',
        help='show the full traceback when something fails')


def add_runner_arguments(parser: argparse.ArgumentParser,
                         cfg_options_example: str) -> None:
    """Add MMDetection's ``--cfg-options``, ``--launcher``, ``--local-rank``
    and ``--debug`` to ``parser``.

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
    add_debug_argument(parser)
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


def load_config(config: str,
                cfg_options: Optional[dict] = None,
                work_dir: Optional[str] = None,
                launcher: str = 'none') -> Config:
    """Read ``config``, apply ``--cfg-options`` and choose the work dir.

    The work dir is, in order: ``work_dir``, the config's own ``work_dir``,
    or ``./work_dirs/<config name>``, as in MMDetection's tools.

    Raises:
        MissingFileError: If ``config`` does not exist.
        ConfigError: If it (or a ``_base_`` file) is not valid Python,
            naming the file and line.
    """
    if not osp.isfile(config):
        raise MissingFileError(f'config file {config} not found')
    try:
        cfg = Config.fromfile(config)
    except SyntaxError as err:
        # parsed again only now: MMEngine's message may lack the file
        problem = syntax_problem(config)
        if problem is None:
            raise
        raise ConfigError(problem) from err
    cfg.launcher = launcher
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])
    return cfg


def setup_train_config(cfg: Config,
                       amp: bool = False,
                       auto_scale_lr: bool = False,
                       resume: Optional[str] = None) -> Config:
    """Apply ``tools/train.py``'s ``--amp``, ``--auto-scale-lr`` and
    ``--resume`` to ``cfg`` (in place).

    Args:
        cfg (Config): Config from :func:`load_config`.
        amp (bool): Train with automatic mixed precision.
        auto_scale_lr (bool): Turn on MMEngine's ``auto_scale_lr``.
        resume (str, optional): ``'auto'`` resumes from the work dir's
            latest checkpoint, a path from that checkpoint, None not at all.
    """
    if amp:
        if cfg.optim_wrapper.get('type', 'OptimWrapper') == 'AmpOptimWrapper':
            pass  # already mixed precision
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'
    if auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in \
                cfg.auto_scale_lr:
            raise KeyError('--auto-scale-lr needs `auto_scale_lr = dict('
                           'base_batch_size=...)` in the config')
        cfg.auto_scale_lr.enable = True
    if resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif resume is not None:
        cfg.resume = True
        cfg.load_from = resume
    return cfg


def setup_test_config(cfg: Config,
                      checkpoint: str,
                      out: Optional[str] = None,
                      show_dir: Optional[str] = None) -> Config:
    """Apply ``tools/test.py``'s arguments to ``cfg`` (in place).

    Args:
        cfg (Config): Config from :func:`load_config`.
        checkpoint (str): Checkpoint to evaluate.
        out (str, optional): Pickle file to dump the raw predictions to.
        show_dir (str, optional): Folder, under the work dir's timestamped
            folder, where images with predictions are drawn.
    """
    cfg.load_from = checkpoint
    if show_dir is not None:
        vis = cfg.default_hooks.get('visualization')
        if vis is None:
            raise KeyError('--show-dir needs default_hooks.visualization '
                           '(DetVisualizationHook) in the config')
        vis.draw = True
        vis.test_out_dir = show_dir
    if out is not None:
        if not out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out {out}: expected a .pkl or .pickle file')
        evaluators = cfg.test_evaluator
        if not isinstance(evaluators, list):
            evaluators = [evaluators]
        cfg.test_evaluator = list(evaluators) + [
            dict(type='DumpDetResults', out_file_path=out)
        ]
    return cfg


def build_runner(cfg: Config) -> Runner:
    """The runner the config names (``runner_type``, e.g. the shipped
    configs' ``SafeRunner``), else MMEngine's, as MMDetection's tools do."""
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def check_checkpoint_fits(config: str, checkpoint: str) -> None:
    """Build ``config``'s detector and load ``checkpoint`` into it strictly.

    For tools that then load the checkpoint through MMDetection's
    ``init_detector`` (non-strict), so that a checkpoint of another model
    is refused in one line instead of predicting with random weights.

    Raises:
        MissingFileError: If ``config`` does not exist.
        ConfigError: If the model fails to build (naming the entry).
        CheckpointError: If the checkpoint cannot be read or does not fit.
    """
    cfg = load_config(config)
    register_all_modules(init_default_scope=False)
    with explained(cfg):
        model = MODELS.build(cfg.model)
    load_weights(model, read_checkpoint(checkpoint), checkpoint, strict=True)


def _message(err: BaseException) -> str:
    if isinstance(err, KeyError) and len(err.args) == 1:
        return str(err.args[0])  # str() of a KeyError adds quotes
    return str(err)


def _worker_error(err: BaseException):
    """``(type name, message)`` of the exception a DataLoader worker
    raised, or None if ``err`` did not come from a worker."""
    text = str(err)
    found = _WORKER.match(text)
    if not found:
        return None
    last = [line for line in text.splitlines() if line.strip()][-1]
    name = found.group(1)
    return name, last[len(name) + 2:] if last.startswith(name + ':') \
        else last


def error_line(err: BaseException) -> str:
    """The one-line message the tools print for ``err``.

    Args:
        err (BaseException): What the run raised.

    Returns:
        str: One line, without the ``error:`` prefix.
    """
    type_name, message = type(err).__name__, _message(err)
    from_worker = _worker_error(err)
    if from_worker:
        type_name, message = from_worker
    undecodable = _UNDECODABLE.search(message)
    if undecodable:
        return (f'image {undecodable.group(1)} could not be decoded: '
                'expected an image file (corrupt, or another format?)')
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    first = lines[0] if lines else type_name
    if isinstance(err, INPUT_ERRORS) and not from_worker:
        return first
    return f'{type_name}: {first} (run with --debug for the traceback)'


def run_tool(work: Callable[[], Any], debug: bool = False) -> int:
    """Run a tool's ``work`` and turn a failure into one line on stderr.

    Args:
        work (callable): The tool's work, taking no arguments.
        debug (bool): Also print the traceback. Defaults to False.

    Returns:
        int: The exit status: 0, 1 on an error, 130 when interrupted.
    """
    try:
        work()
    except KeyboardInterrupt:
        print('error: interrupted', file=sys.stderr)
        return 130
    except Exception as err:  # noqa: B902  every failure becomes one line
        if debug:
            traceback.print_exc()
        print(f'error: {error_line(err)}', file=sys.stderr)
        return 1
    return 0
