"""Multi-process training through MMEngine on machines without CUDA."""
import datetime

import torch
import torch.distributed as torch_dist
from mmengine.config import Config


def setup_cpu_distributed(cfg: Config, launcher: str) -> bool:
    """Let ``launcher='pytorch'`` run on CPU processes (gloo backend).

    MMEngine's pytorch launcher calls ``torch.cuda.set_device`` and wraps
    the model in DDP with ``device_ids=[LOCAL_RANK]``; both fail without
    CUDA. So, on a machine without CUDA, the process group is initialised
    here with gloo (MMEngine then leaves it as it is) and the model wrapper
    is told to use no device ids. With CUDA, or with ``launcher='none'``,
    nothing is changed.

    Args:
        cfg (Config): The run's config; ``model_wrapper_cfg`` is set in
            place.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Returns:
        bool: Whether the CPU set-up was applied.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher != 'pytorch':
        raise RuntimeError(
            f"--launcher {launcher} needs CUDA; without a GPU use "
            "--launcher pytorch (torchrun), which runs on the gloo backend")
    if not torch_dist.is_initialized():
        dist_cfg = cfg.get('env_cfg', {}).get('dist_cfg', {})
        timeout = datetime.timedelta(seconds=dist_cfg.get('timeout', 1800))
        # rank and world size come from torchrun's environment variables
        torch_dist.init_process_group(backend='gloo', timeout=timeout)
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault('find_unused_parameters',
                       cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    return True


def close_distributed() -> None:
    """Destroy the default process group, if one was set up.

    A gloo group left to the interpreter's shutdown can abort a process
    after a finished run ("terminate called without an active
    exception"), failing the whole torchrun job; the tools call this once
    the run has returned.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.destroy_process_group()
