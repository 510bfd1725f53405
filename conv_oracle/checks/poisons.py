"""Heap poisons for the double call (:func:`conv_oracle.checks.isolation.twice`): while inside
:func:`poisoned`, freed heap blocks hold one byte pattern and fresh ones its complement (glibc
``M_PERTURB``; elsewhere a spray of freed blocks), a pattern no earlier call used lately."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools

import numpy as np

#: the worker's malloc: no per-thread cache (it bypasses perturbing), large blocks from the heap
TUNABLES = "glibc.malloc.tcache_count=0:glibc.malloc.mmap_threshold=33554432"


@functools.lru_cache(maxsize=None)
def _libc():
    if not hasattr(ctypes, "CDLL") or not ctypes.util.find_library("c"):
        return None
    try:
        libc = ctypes.CDLL(None)
        return libc if hasattr(libc, "mallopt") else None
    except OSError:
        return None


@contextlib.contextmanager
def poisoned(byte: int):
    """Heap memory filled with ``byte`` (freed) and its complement (fresh) while inside."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(-6, byte)  # M_PERTURB
    else:  # no glibc: freed blocks hold the poison for the next allocations (a weaker guarantee)
        spray = [np.full(size, byte, np.uint8) for size in (64, 256, 1024, 4096, 65536, 1 << 20) for _ in range(4)]
        del spray
    try:
        yield
    finally:
        if libc is not None:
            libc.mallopt(-6, 0)


def next_poison() -> int:
    """A byte no earlier call used lately (cycling through 1..254): memory left over from earlier
    calls never holds this call's pattern, so the first run cannot match the second by chance."""
    global _poison
    _poison = _poison % 254 + 1
    return _poison


_poison = 0
