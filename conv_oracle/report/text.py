"""Plain-text grids shared by ``conv-oracle explain`` and ``summary.md``."""

from __future__ import annotations

import numpy as np


def ascii_map(untouched, touched_char: str = "#", untouched_char: str = ".") -> str:
    """A 1-D or 2-D boolean mask as rows of characters separated by spaces (True = untouched)."""
    grid = np.atleast_2d(np.asarray(untouched, dtype=bool))
    return "\n".join(" ".join(untouched_char if v else touched_char for v in row) for row in grid)


def number(value: float) -> str:
    """An integer-valued float without '.0'; other values as Python prints them."""
    v = float(value)
    return str(int(v)) if np.isfinite(v) and v == int(v) else repr(v)


def matrix(values) -> str:
    """A 1-D or 2-D array as rows of numbers, right-aligned in columns of one width."""
    grid = np.atleast_2d(np.asarray(values, dtype=np.float64))
    cells = [[number(v) for v in row] for row in grid]
    width = max((len(c) for row in cells for c in row), default=1)
    return "\n".join(" ".join(c.rjust(width) for c in row) for row in cells)
