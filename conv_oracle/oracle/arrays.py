"""Array preparation shared by both operators: float64 (or complex128) and batch handling."""

from __future__ import annotations

import functools

import numpy as np


def ieee(fn):
    """Run ``fn`` with numpy's floating-point warnings off: what IEEE arithmetic gives for a sum of
    products with a non-finite term (+-Inf; NaN for Inf * 0 or Inf - Inf) or past float64's range is
    the definition's value, not an accident to warn of."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)
    return wrapper


def working_dtype(*arrays) -> np.dtype:
    """complex128 if any operand is complex, else float64: the oracle's only two dtypes."""
    return np.dtype(np.complex128 if any(a is not None and np.iscomplexobj(a) for a in arrays) else np.float64)


def as_working(array, dtype: np.dtype) -> np.ndarray | None:
    return None if array is None else np.asarray(array).astype(dtype, copy=False)


def shape_of(array) -> tuple[int, ...] | None:
    return None if array is None else tuple(np.shape(array))


def grouped_taps(weight: np.ndarray, groups: int, transposed: bool) -> np.ndarray:
    """Weight as ``(*k, G, C_out/G, C_in/G)``, contiguous: one matrix per tap and group.

    conv weight is ``(C_out, C_in/G, *k)``; transposed conv weight is ``(C_in, C_out/G, *k)``.
    """
    nd = weight.ndim - 2
    a, b = weight.shape[:2]
    w = weight.reshape((groups, a // groups, b) + weight.shape[2:])
    # axes of w: 0 = group, 1 = first/G, 2 = second, 3.. = taps
    first, second = (2, 1) if transposed else (1, 2)  # always end as (out, in)
    order = tuple(range(3, 3 + nd)) + (0, first, second)
    return np.ascontiguousarray(w.transpose(order))


# Working-set budget for one tile (input + output rows) of a depthwise operator: small enough to stay
# in cache while every kernel tap passes over it (threads.plan_tiles).
CHUNK_BYTES = 4 << 20


def apply_tap(w_tap: np.ndarray, window: np.ndarray) -> np.ndarray:
    """One kernel tap: ``out[n, g, o, *y] = sum_c w_tap[g, o, c] * window[n, g, c, *y]``.

    ``w_tap`` is ``(G, C_out/G, C_in/G)``, ``window`` is ``(n, G, C_in/G, *span)``. With one input
    channel per group (depthwise) the sum has a single term: a broadcast product, much faster than
    a stack of 1-column matrix products. A window BLAS can read in place (a whole input, or a 1-D
    window with unit stride: rows of a matrix with a leading dimension) is used in place, one
    matrix product per sample and group (single-threaded inside the oracle, see threads.py). Any
    other window must be copied anyway, and is copied into ``(G, C_in/G, n*P)`` for one product
    per group over all samples and positions at once.
    """
    groups, co, ci = w_tap.shape
    n, span = window.shape[0], window.shape[3:]
    if ci == 1:
        return w_tap.reshape((groups, co) + (1,) * len(span)) * window
    if window.flags.c_contiguous:
        return np.matmul(w_tap, window.reshape(n, groups, ci, -1)).reshape((n, groups, co) + span)
    if len(span) == 1 and window.strides[-1] == window.itemsize:
        return np.matmul(w_tap, window)
    columns = np.moveaxis(window, 0, 2).reshape(groups, ci, -1)  # (G, ci, n*P): the one copy of the window
    product = np.matmul(w_tap, columns).reshape((groups, co, n) + span)
    return np.moveaxis(product, 2, 0)  # (n, G, co, *span), a view
