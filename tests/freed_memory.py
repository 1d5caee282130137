"""Whether a child process gives freed memory back to the kernel.

Retaining freed memory cannot be undone in a process, so each probe runs
in a child of its own, after the Python code ``setup``.
"""
import os
import subprocess
import sys
from typing import Tuple

# Two 64 MiB blocks, each freed as soon as its pages are written. glibc's
# default maps both with mmap. Without mmap, the first (plain malloc, on top
# of the heap) tests trimming; the second (a tensor, from an aligned
# allocation that leaves a small block above it) rarely reaches the top.
_PROBE = """
import os
import torch

def resident_bytes():
    with open('/proc/self/statm') as statm:
        return int(statm.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')

given_back = 0
for make in [lambda: b'\\x01' * 2**26, lambda: torch.ones(16, 2**20)]:
    block = make()
    held = resident_bytes()
    del block
    given_back += held - resident_bytes()
print('given back', given_back)
"""


def bytes_given_back(setup: str = '', *args: str) -> Tuple[int, str]:
    """Resident bytes the child lost on freeing the blocks, and its stdout.

    Args:
        setup (str): Python run first, with ``args`` as ``sys.argv[1:]``.
    """
    # the benchmark library lives beside the tools, outside the package
    tools = os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), 'tools')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (tools, os.environ.get('PYTHONPATH')) if p))
    out = subprocess.run([sys.executable, '-c', setup + _PROBE, *args],
                         check=True,
                         capture_output=True,
                         text=True,
                         env=env).stdout
    return int(out.split('given back')[-1]), out
