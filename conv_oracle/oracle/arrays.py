"""Array preparation shared by both operators: float64 (or complex128) and batch handling."""

from __future__ import annotations

import numpy as np


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
