"""Peak memory of one call, on CPU as on CUDA.

CUDA keeps a high-water mark of allocated bytes
(``torch.cuda.max_memory_allocated``). The CPU allocator keeps none, and a
process's peak RSS mixes in the allocator's caching, the Python heap and
everything before the call. So on CPU the call runs under
``torch.profiler`` with ``profile_memory=True``, which records every
allocation and free made through PyTorch's CPU allocator with its size;
the running sum of those records, in time order, is the live tensor
memory, and its maximum is the peak. Both devices thus report the same
quantity: the most tensor memory live at once during the call, over what
was live when it started. Memory that libraries allocate on their own
(MKL's and oneDNN's scratch buffers) is not counted, on either device.
"""
import contextlib
import itertools
import os
import resource
import sys
import tempfile
from typing import Callable, Iterator

import torch
from torch.profiler import ProfilerActivity, profile


@contextlib.contextmanager
def _quiet_profiler() -> Iterator[None]:
    """Drop the profiler's start/stop lines, pass any other stderr on.

    Kineto writes ``USDT:... profiler_start`` (and ``_stop``) straight to
    file descriptor 2 on every profile, which would bury the benchmark's
    table; nothing else written meanwhile is lost.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors='replace').splitlines(
                    keepends=True):
                if 'SyncActivityProfilerHandler' not in line:
                    sys.stderr.write(line)


def _cpu_peak_bytes(step: Callable[[], object]) -> int:
    # The profiler's allocation records are only exposed through its event
    # tree (the API torch.profiler's own memory timeline reads).
    from torch._C._profiler import _EventType
    with _quiet_profiler(), profile(activities=[ProfilerActivity.CPU],
                                    profile_memory=True) as prof:
        step()
    records = []
    pending = list(prof.profiler.kineto_results.experimental_event_tree())
    while pending:
        event = pending.pop()
        pending.extend(event.children)
        if event.tag == _EventType.Allocation:
            fields = event.extra_fields
            if fields.device.type == 'cpu':
                records.append((event.start_time_ns, fields.alloc_size))
    records.sort(key=lambda record: record[0])
    live = itertools.accumulate(size for _, size in records)
    return max(itertools.chain([0], live))


def peak_memory(step: Callable[[], object],
                device: torch.device = torch.device('cpu')) -> int:
    """Peak tensor bytes allocated during ``step()`` beyond those at start.

    Args:
        step (Callable): Called once, with no argument; its return value
            is dropped before the measurement ends.
        device (torch.device): Where ``step`` allocates. Defaults to CPU.

    Returns:
        int: Bytes.
    """
    device = torch.device(device)
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        start = torch.cuda.memory_allocated(device)
        step()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - start
    if device.type != 'cpu':
        raise ValueError(f'peak memory is measured on cpu or cuda, '
                         f'not {device}')
    return _cpu_peak_bytes(lambda: (step(), None)[1])


def page_faults(step: Callable[[], object]) -> int:
    """Minor page faults of this process during ``step()``.

    Each is a fresh page the kernel zeroes, mostly for new tensors (glibc
    usually returns large freed blocks to the kernel, so a large tensor
    costs its pages again each time, unless
    :func:`.allocator.retain_freed_memory` was called). Equal counts mean
    two models pay the same kernel time, which the ``'user'`` clock of
    :mod:`.timing` leaves out.

    Args:
        step (Callable): Called once, with no argument.

    Returns:
        int: The number of minor faults.
    """
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    step()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
