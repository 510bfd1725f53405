"""Normalisation of per-dimension arguments (int, or a tuple of 1 or ``nd`` ints), as torch does."""

from __future__ import annotations

import numbers
from typing import Sequence

from .errors import ConvConfigError

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def per_dim(name: str, value, nd: int, minimum: int | None = None) -> tuple[int, ...]:
    """``value`` as an ``nd``-tuple of ints; a single int or a 1-sequence is repeated (torch's rule).

    ``minimum`` (inclusive) is checked per element, naming the parameter on failure.
    """
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, Sequence)) or isinstance(value, str):
        raise ConvConfigError(name, value, f"must be an int or a sequence of {nd} ints")
    if isinstance(value, numbers.Integral):
        values = (int(value),) * nd
    else:
        if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value):
            raise ConvConfigError(name, value, "every element must be an int")
        values = tuple(int(v) for v in value)
        if len(values) == 1:
            values = values * nd
        elif len(values) != nd:
            raise ConvConfigError(name, value, f"must be an int or {nd} values, one per spatial dimension")
    if minimum is not None and any(v < minimum for v in values):
        rule = "must be positive" if minimum == 1 else f"must be >= {minimum}"
        raise ConvConfigError(name, value, rule)
    return values


def same_padding(kernel: int, dilation: int = 1) -> tuple[int, int]:
    """torch's ``padding='same'``: total ``d*(k-1)``, ``total//2`` before, the rest after."""
    total = dilation * (kernel - 1)
    return total // 2, total - total // 2


def resolve_padding(padding, kernel: Sequence[int], dilation: Sequence[int],
                    stride: Sequence[int] | None = None) -> tuple[tuple[int, int], ...]:
    """Padding as ``((before, after), ...)`` per dimension; accepts int, tuple, 'valid', 'same'."""
    nd = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding == "same":
            if stride is not None and any(s != 1 for s in stride):
                raise ConvConfigError("padding", padding,
                                      f"'same' is not supported for strided convolutions (stride={tuple(stride)})")
            return tuple(same_padding(k, d) for k, d in zip(kernel, dilation))
        raise ConvConfigError("padding", padding, "a padding string must be 'valid' or 'same'")
    return tuple((p, p) for p in per_dim("padding", padding, nd, minimum=0))


def check_padding_mode(mode) -> str:
    if mode not in PADDING_MODES:
        raise ConvConfigError("padding_mode", mode, f"must be one of {PADDING_MODES}")
    return mode
