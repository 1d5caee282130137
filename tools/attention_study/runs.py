"""One training run per (variant, seed), through ``tools/train.py``.

Each variant's config is the user's config with only the model's attention
changed (:mod:`attention_study.variants`), written once into the study's
work dir; each seed is ``--cfg-options randomness.seed=<seed>`` on top, so
every run is a command a user could type (the tool prints it). Results are
read back from MMEngine's ``vis_data/scalars.json``, the log the
``LoggerHook`` writes for every run.
"""
import json
import os
import os.path as osp
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from mmengine.config import Config

from .variants import variant_model
from mmdet_eca.fileio import atomic_path, write_text_atomic

STUDY_IMPORT = 'attention_study.backbones'
TASKS = ('bbox', 'segm')


@dataclass
class RunResult:
    """What one run logged.

    Args:
        variant (str): Attention variant.
        seed (int): Training seed.
        final (dict[str, float]): COCO metrics of the last validation,
            e.g. ``{'bbox_mAP': 0.8, 'segm_mAP': 0.76, ...}``.
        loss (list[tuple[int, float]]): (iteration, total loss) as logged.
        ap (dict[str, list[tuple[int, float]]]): Per task, (epoch, AP) of
            every validation during training.
        time (float): Mean seconds per training iteration (data included),
            first logged window (warm-up) left out.
        data_time (float): Mean seconds per iteration waiting for data.
    """
    variant: str
    seed: int
    final: Dict[str, float]
    loss: List = field(default_factory=list)
    ap: Dict[str, List] = field(default_factory=dict)
    time: float = float('nan')
    data_time: float = float('nan')


def write_variant_config(cfg: Config, variant: str, out_file: str,
                         config_file: str = 'the config') -> str:
    """Write ``cfg`` with its attention turned into ``variant``.

    The study's backbones module is added to ``custom_imports`` so that
    ``tools/train.py`` can build ``SEResNet`` and ``SEPlugin``. Written to
    a temporary file and renamed, so no half-written config is ever left.

    Args:
        cfg (Config): The loaded config (``--cfg-options`` applied).
        variant (str): Attention variant.
        out_file (str): Python config file to write.
        config_file (str): The original file, named in errors.

    Returns:
        str: ``out_file``.
    """
    cfg = Config(cfg.to_dict(), filename=cfg.filename)
    cfg.model = variant_model(cfg.model, variant, config_file)
    imports = dict(cfg.get('custom_imports') or {})
    modules = list(imports.get('imports', []))
    if STUDY_IMPORT not in modules:
        modules.append(STUDY_IMPORT)
    cfg.custom_imports = dict(imports, imports=modules,
                              allow_failed_imports=False)
    with atomic_path(out_file) as tmp:
        cfg.dump(tmp)
    return out_file


def train_command(config_file: str, work_dir: str, seed: int,
                  cfg_options: Sequence[str] = ()) -> List[str]:
    """The ``tools/train.py`` command line of one run (without python)."""
    return (['tools/train.py', config_file, '--work-dir', work_dir,
             '--cfg-options', f'randomness.seed={seed}'] + list(cfg_options))


def study_env(repo: str, threads: Optional[int] = None) -> Dict[str, str]:
    """The environment of the runs: ``tools/`` on ``PYTHONPATH`` so that
    ``custom_imports`` finds ``attention_study.backbones``, and
    ``threads`` compute threads if given."""
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    if threads is not None:
        env['OMP_NUM_THREADS'] = str(threads)
    paths = [osp.join(repo, 'tools'), repo]
    if env.get('PYTHONPATH'):
        paths.append(env['PYTHONPATH'])
    env['PYTHONPATH'] = os.pathsep.join(paths)
    return env


def run_training(command: Sequence[str], repo: str, log_file: str,
                 threads: Optional[int] = None) -> None:
    """Run ``python <command>`` in ``repo``, its output into ``log_file``,
    with ``threads`` compute threads (default: PyTorch's).

    Raises:
        RuntimeError: If the run fails: one line with the run's last error
            line and where its full log is.
    """
    with open(log_file, 'w') as log:
        proc = subprocess.run([sys.executable] + list(command), cwd=repo,
                              env=study_env(repo, threads), stdout=log,
                              stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        with open(log_file) as f:
            lines = [line.strip() for line in f if line.strip()]
        errors = [line for line in lines if line.startswith('error:')]
        last = (errors or lines or ['(no output)'])[-1]
        raise RuntimeError(f'{command[0]} failed (exit status '
                           f'{proc.returncode}): {last} (full log: '
                           f'{log_file})')


def newest_scalars(work_dir: str) -> str:
    """``vis_data/scalars.json`` of the newest timestamped run folder."""
    runs = sorted(d for d in os.listdir(work_dir)
                  if d[:1].isdigit() and osp.isdir(osp.join(work_dir, d)))
    for run in reversed(runs):
        path = osp.join(work_dir, run, 'vis_data', 'scalars.json')
        if osp.isfile(path):
            return path
    raise FileNotFoundError(f'{work_dir}: no <timestamp>/vis_data/'
                            'scalars.json (did the run log anything?)')


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else float('nan')


def read_run(scalars_json: str, variant: str, seed: int) -> RunResult:
    """Collect a run's loss curve, AP curve, timing and final metrics.

    Raises:
        ValueError: If the log holds no training or no validation record.
    """
    train, val = [], []
    with open(scalars_json) as f:
        for line in f:
            if line.strip():
                record = json.loads(line)
                if 'loss' in record:
                    train.append(record)
                elif any(k.startswith('coco/') for k in record):
                    val.append(record)
    if not train or not val:
        raise ValueError(f'{scalars_json}: expected training records with '
                         "'loss' and validation records with 'coco/...' "
                         f'metrics, found {len(train)} and {len(val)}')
    timed = train[1:] or train
    final = {
        k.split('/', 1)[1]: v
        for k, v in val[-1].items() if k.startswith('coco/')
    }
    return RunResult(
        variant=variant,
        seed=seed,
        final=final,
        loss=[(r['step'], r['loss']) for r in train],
        ap={
            task: [(r['step'], r[f'coco/{task}_mAP']) for r in val
                   if f'coco/{task}_mAP' in r]
            for task in TASKS
        },
        time=_mean([r['time'] for r in timed if 'time' in r]),
        data_time=_mean([r['data_time'] for r in timed
                         if 'data_time' in r]))


def load_result(path: str) -> Optional[RunResult]:
    """A run's saved result, or None if there is none yet."""
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return RunResult(**json.load(f))


def save_result(result: RunResult, path: str) -> None:
    """Save a run's result atomically (a finished run is skipped later)."""
    write_text_atomic(path, json.dumps(result.__dict__, indent=1))
