"""Keep freed CPU memory in the process, for new tensors to reuse.

PyTorch's CPU tensors come from glibc's malloc, which serves large blocks
with ``mmap`` and gives them back with ``munmap`` when they are freed, and
trims the top of its heap as it empties. Every large tensor of a forward
is then fresh pages, each one faulted in and zeroed by the kernel. On the
development machine that was about a fifth of a ResNet-50 forward, and the
noisiest fifth: it varies with where each tensor lands, from run to run
and between identical models. Caching allocators (jemalloc, tcmalloc,
PyTorch's own on CUDA) keep freed memory for the next allocation instead;
:func:`retain_freed_memory` makes glibc do the same for the rest of the
process, so that a benchmark times the models' arithmetic rather than the
kernel's page handling.
"""
import ctypes

# mallopt parameters, from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_M_ARENA_MAX = -8


def retain_freed_memory() -> None:
    """Make glibc's malloc keep every freed block for reuse, from now on.

    Sets ``M_MMAP_MAX=0`` (large blocks come from the heap, not from
    ``mmap``), ``M_TRIM_THRESHOLD=-1`` (the heap never shrinks) and
    ``M_ARENA_MAX=1`` (worker threads share the one heap). The process's
    memory then stays at its high-water mark. It cannot be undone; call it
    once, before the measured work, in a process of its own.

    A freed block too fragmented to serve a new tensor still grows the
    heap (PyTorch's aligned allocations leave small blocks beside large
    ones), so a step can fault in pages now and then, mostly in the first
    steps; the benchmark counts page faults per step rather than assume
    none.

    Raises:
        RuntimeError: If the C library has no ``mallopt`` (not glibc) or
            refuses a setting.
    """
    # The process's own symbols include its C library's.
    libc = ctypes.CDLL(None)
    mallopt = getattr(libc, 'mallopt', None)
    if mallopt is None:
        raise RuntimeError('retaining freed memory needs glibc\'s mallopt, '
                           'which this C library does not have')
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    for name, param, value in [('M_MMAP_MAX', _M_MMAP_MAX, 0),
                               ('M_TRIM_THRESHOLD', _M_TRIM_THRESHOLD, -1),
                               ('M_ARENA_MAX', _M_ARENA_MAX, 1)]:
        if mallopt(param, value) != 1:
            raise RuntimeError(f'mallopt refused {name}={value}')
