"""Config handling and Runner construction behind ``tools/train.py`` and
``tools/test.py``, with MMDetection's command-line semantics."""
import os.path as osp
from typing import Optional

from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from .checks import MissingFileError
from .dist import setup_cpu_distributed
from .explain import explained
from .safe_runner import SafeRunner


def load_config(config: str,
                cfg_options: Optional[dict] = None,
                work_dir: Optional[str] = None,
                launcher: str = 'none') -> Config:
    """Read ``config``, apply ``--cfg-options`` and choose the work dir.

    The work dir is, in order: ``work_dir``, the config's own ``work_dir``,
    or ``./work_dirs/<config name>``, as in MMDetection's tools.

    Raises:
        MissingFileError: If ``config`` does not exist.
    """
    if not osp.isfile(config):
        raise MissingFileError(f'config file {config} not found')
    cfg = Config.fromfile(config)
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
    """Build the config's Runner, ready for multi-process runs on CPU.

    That is a :class:`SafeRunner` (atomic checkpoints, lossless resume,
    checked loading and data) unless the config names a ``runner_type``.

    Raises:
        ConfigError: If a component (the model, a hook, ...) fails to
            build; it names the config entry.
    """
    setup_cpu_distributed(cfg, cfg.get('launcher', 'none'))
    with explained(cfg):
        if 'runner_type' in cfg:
            return RUNNERS.build(cfg)
        return SafeRunner.from_cfg(cfg)
