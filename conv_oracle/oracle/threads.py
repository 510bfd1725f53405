"""The oracle owns its threading: BLAS runs single-threaded inside the oracle, and the oracle
spreads its own work over the cores in tiles (batch rows x output channels) that idle workers
pick up one at a time.

Why: numpy's OpenBLAS splits each product statically over its threads, which spin and yield
waiting for one another; when the cores are shared (other processes, or torch's own OpenMP
workers) a product waits for a descheduled thread, and a 32x32x2048 product took 16 ms instead of
0.1 ms. Tiles from a shared queue need no thread to finish a fixed share: a descheduled worker
only delays its own tile while the others keep taking new ones. Every output cell is computed by
one tile, its taps added in tap order; within a tap the product's order is the BLAS library's
(exact on integers either way, and within the rounding bound on floats).

The BLAS limit (threadpoolctl) is process-wide while an oracle call runs: numpy products made at
the same time by other threads of the process also run single-threaded.
"""

from __future__ import annotations

import contextvars
import functools
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from threadpoolctl import ThreadpoolController

#: below this many multiply-adds a call runs on the calling thread (tiling would cost more)
MIN_PARALLEL_WORK = 1 << 21
#: tiles per worker: enough that a stalled worker's tile is a small part of the whole
TILES_PER_WORKER = 4

_lock = threading.Lock()
_controller: ThreadpoolController | None = None
_pool: ThreadPoolExecutor | None = None


def cores() -> int:
    """CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _blas_controller() -> ThreadpoolController:
    global _controller
    with _lock:
        if _controller is None:
            _controller = ThreadpoolController()
        return _controller


def _workers() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=cores(), thread_name_prefix="conv-oracle")
        return _pool


_depth = threading.local()


def owns_threads(fn):
    """Run ``fn`` with single-threaded BLAS (entered once per outermost oracle call)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if getattr(_depth, "inside", False):
            return fn(*args, **kwargs)
        _depth.inside = True
        try:
            with _blas_controller().limit(limits=1, user_api="blas"):
                return fn(*args, **kwargs)
        finally:
            _depth.inside = False
    return wrapper


def _split(total: int, parts: int) -> list[slice]:
    parts = max(1, min(total, parts))
    bounds = [round(i * total / parts) for i in range(parts + 1)]
    return [slice(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def plan_tiles(n: int, groups: int, channels: int, work: int, bytes_per_group: int,
               elementwise: bool) -> list[tuple[slice, slice, slice]]:
    """``(rows, groups, channels)`` tiles covering ``n`` samples x ``groups`` x ``channels`` output
    channels per group.

    ``work``: multiply-adds of the whole call; ``bytes_per_group``: input + output bytes of one
    sample and group. ``elementwise`` (one input channel per group: every tap is a broadcast
    product, memory-bound): tiles of at most :data:`arrays.CHUNK_BYTES`, so that every tap passes
    over data still in cache. Otherwise, for calls worth it, up to ``TILES_PER_WORKER`` tiles per
    core: batch first, then groups (both free: disjoint windows), then output channels only where
    there are still fewer tiles than cores (a channel tile re-copies its strided input windows)."""
    from .arrays import CHUNK_BYTES

    if n == 0 or groups == 0 or channels == 0:
        return []
    workers = cores()
    want = 1 if workers == 1 or work < MIN_PARALLEL_WORK else TILES_PER_WORKER * workers
    if elementwise:
        per_tile = max(1, CHUNK_BYTES // max(1, bytes_per_group))  # (sample, group) units per tile
        if per_tile >= groups:
            rows, gs = _split(n, max(want, math.ceil(n * groups / per_tile))), [slice(0, groups)]
        else:
            rows, gs = _split(n, n), _split(groups, math.ceil(groups / per_tile))
        return [(r, g, slice(0, channels)) for r in rows for g in gs]
    rows = _split(n, want)
    gs = _split(groups, math.ceil(want / len(rows)))
    tiles = len(rows) * len(gs)
    cs = _split(channels, math.ceil(workers / tiles)) if tiles < min(want, workers) else [slice(0, channels)]
    return [(r, g, c) for r in rows for g in gs for c in cs]


def run_tiles(work, tiles: list[tuple[slice, ...]]) -> None:
    """``work(*tile)`` for every tile. Tiles write disjoint parts of the output and numpy releases
    the GIL in the products, so they run at once: the calling thread and up to ``cores() - 1``
    helpers take tiles from one queue until it is empty. The caller waits only for tiles already
    taken, never for a helper that has not started (on a loaded machine it may start late; it
    then finds the queue empty)."""
    workers = min(cores(), len(tiles))
    if workers <= 1:
        for tile in tiles:
            work(*tile)
        return
    queue = iter(tiles)
    done = threading.Condition()
    state = {"taken": 0, "finished": 0, "error": None}

    def drain() -> None:
        while True:
            with done:
                tile = next(queue, None) if state["error"] is None else None
                if tile is None:
                    return
                state["taken"] += 1
            try:
                work(*tile)
            except BaseException as exc:  # handed to the caller below
                state["error"] = exc
            with done:
                state["finished"] += 1
                done.notify_all()

    pool = _workers()
    for _ in range(workers - 1):  # each helper in a copy of the caller's context: numpy's errstate with it
        pool.submit(contextvars.copy_context().run, drain)
    drain()  # returns once the queue is empty (or a tile failed): no tile is taken after that
    with done:
        done.wait_for(lambda: state["finished"] == state["taken"])
    if state["error"] is not None:
        raise state["error"]
