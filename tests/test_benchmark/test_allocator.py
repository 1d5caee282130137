"""analysis_tools.allocator: freed memory kept for reuse.

Retaining freed memory cannot be undone in a process, so the effect is
checked in child processes; the test process keeps glibc's defaults.
"""
import ctypes

import pytest

from freed_memory import bytes_given_back
from analysis_tools import allocator

RETAIN = """
from analysis_tools.allocator import retain_freed_memory
retain_freed_memory()
"""


def test_freed_memory_stays_in_the_process():
    # glibc's default gives both 64 MiB blocks back as soon as they are
    # freed, so the next tensor faults its pages in afresh
    assert bytes_given_back()[0] >= 120 * 2**20
    assert bytes_given_back(RETAIN)[0] < 2**20


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
