"""mmdet_eca.benchmark.allocator: freed memory kept for reuse.

Retaining freed memory cannot be undone in a process, so the effect is
checked in child processes; the test process keeps glibc's defaults.
"""
import ctypes
import subprocess
import sys

import pytest

from mmdet_eca.benchmark import allocator

# A 64 MiB tensor made and freed five times: the page faults of the last
# three (the first two may still grow the heap).
REALLOCATE = """
import sys
import torch
from mmdet_eca.benchmark.allocator import retain_freed_memory
from mmdet_eca.benchmark.memory import page_faults
if sys.argv[1] == 'retain':
    retain_freed_memory()
step = lambda: torch.ones(16, 2**20).sum()
step()
step()
print(sum(page_faults(step) for _ in range(3)))
"""


def faults_of_reallocation(mode):
    out = subprocess.run([sys.executable, '-c', REALLOCATE, mode],
                         check=True, capture_output=True, text=True).stdout
    return int(out.split()[-1])


def test_retained_memory_is_reused_without_page_faults():
    pages = 3 * 64 * 2**20 // 4096
    # glibc's default hands the block back: every page faults in again
    # (fewer with transparent huge pages, still far from none)
    assert faults_of_reallocation('default') >= pages // 512
    assert faults_of_reallocation('retain') < 50


class FakeMallopt:

    def __init__(self, refused=None):
        self.refused = refused
        self.calls = []

    def __call__(self, param, value):
        self.calls.append((param, value))
        return 0 if param == self.refused else 1


def test_retain_freed_memory_settings(monkeypatch):
    mallopt = FakeMallopt()
    libc = type('Libc', (), {'mallopt': mallopt})()
    monkeypatch.setattr(ctypes, 'CDLL', lambda name: libc)
    allocator.retain_freed_memory()
    # no mmap, no trimming, one arena
    assert mallopt.calls == [(-4, 0), (-1, -1), (-8, 1)]


def test_retain_freed_memory_errors(monkeypatch):
    # a C library without mallopt (musl, macOS)
    monkeypatch.setattr(ctypes, 'CDLL', lambda name: object())
    with pytest.raises(RuntimeError, match="needs glibc's mallopt"):
        allocator.retain_freed_memory()
    refusing = type('Libc', (), {'mallopt': FakeMallopt(refused=-1)})()
    monkeypatch.setattr(ctypes, 'CDLL', lambda name: refusing)
    with pytest.raises(RuntimeError, match='refused M_TRIM_THRESHOLD=-1'):
        allocator.retain_freed_memory()
