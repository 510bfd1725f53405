"""Comparing a target's result with the oracle: bit for bit, or within a derived rounding bound.

Float bound (Higham, recursive summation of ``n`` terms, operands rounded by ``u_in`` first)::

    |got - exact| <= (2 u_in + u_in^2) P + gamma_n(u_acc) (1 + u_in)^2 (P + |b|) + n * eta

with ``P = |x| (*) |w|`` (the same operator on absolute values, computed by the oracle),
``gamma_n(u) = n u / (1 - n u)``, ``n`` the terms per cell including the bias, and ``eta`` half
the smallest subnormal (one underflowing product). The bias gets ``gamma_n`` rather than ``u``
because an implementation may start the accumulator at the bias, exposing it to every rounding.

The oracle's float64 result is itself rounded (by the same bound with ``u = 2^-53``), so a check
compares against the sum of both bounds (:func:`comparison_bound`); for float64 targets the two
halves are equal, for narrower dtypes the oracle's half is negligible but still counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import geometry
from .case import Case

MAX_LISTED_TAPS = 6
MAX_LISTED_CELLS = 8


def gamma(n: int, u: float) -> float:
    nu = n * u
    return nu / (1.0 - nu) if nu < 1 else float("inf")


def rounding_bound(P: np.ndarray, bias_abs: np.ndarray | float, n: int, precision: tuple[float, float, float]):
    """Element-wise bound from the magnitude sum ``P`` (see the module docstring)."""
    u_in, u_acc, eta = precision
    return (2 * u_in + u_in**2) * P + gamma(n, u_acc) * (1 + u_in) ** 2 * (P + bias_abs) + n * eta


ORACLE_PRECISION = (0.0, 2.0**-53, 2.0**-1075)


def comparison_bound(P: np.ndarray, bias_abs: np.ndarray | float, n: int, precision: tuple[float, float, float]):
    """Bound on ``|target - oracle|``: the target's rounding bound plus the oracle's own."""
    return rounding_bound(P, bias_abs, n, precision) + rounding_bound(P, bias_abs, n, ORACLE_PRECISION)


@dataclass
class CheckContext:
    """Everything a failure message needs: the call, its operands, and what is compared."""

    case: Case
    target: str
    dtype: str
    mode: str
    x: np.ndarray
    w: np.ndarray
    b: np.ndarray | None
    x_layout: str = "contiguous"
    w_layout: str = "contiguous"
    device: str = "cpu"
    what: str = "output"
    grad_output: np.ndarray | None = None
    extra: dict = field(default_factory=dict)
    path: dict | None = None

    def header(self) -> str:
        from .targets.paths import describe
        text = (f"{self.what} of {self.case.describe()}\n  target={self.target} dtype={self.dtype} mode={self.mode} "
                f"layout(input)={self.x_layout} layout(weight)={self.w_layout}")
        return text + (f"\n  path: {describe(self.path)}" if self.path else "")

    def taps_for(self, index: tuple) -> str:
        """For an output cell, the taps that sum into it (only meaningful for ``what='output'``)."""
        if self.what != "output":
            return ""
        cfg = self.case.config()
        spatial = index[-cfg.nd:]
        pairs = geometry.contributions(spatial, cfg.transposed, cfg.input_size, cfg.kernel_size, cfg.stride,
                                       cfg.padding_before, cfg.dilation)
        if self.case.padding_mode != "zeros":
            return f"\n  (padding_mode={self.case.padding_mode}: taps read a padded copy of the input)"
        shown = ", ".join(f"tap {t} <- input {i}" for t, i in pairs[:MAX_LISTED_TAPS])
        more = f", ... ({len(pairs)} in all)" if len(pairs) > MAX_LISTED_TAPS else ""
        kind = "bias only: no tap reaches it" if not pairs else shown + more
        return f"\n  contributing taps (spatial): {kind}"

    def snippet(self, cell=None, expected=None) -> str:
        from .repro import snippet
        return snippet(self.case, self.target, self.x, self.w, self.b, self.dtype, self.x_layout, self.w_layout,
                       self.device, cell, expected, self.grad_output, self.what)

    def failure(self, message: str, cell=None, expected=None, got=None, cells=None) -> AssertionError:
        """The AssertionError to raise; its ``details`` attribute carries the same facts as data
        (for the records): what was compared, the message, the differing ``cells`` (each
        ``(index, expected, got)``) and the reproduction snippet."""
        snippet = self.snippet(cell, expected)
        text = f"{self.header()}\n  {message}"
        if cell is not None:
            text += self.taps_for(cell)
        from .repro import heading
        text += f"\n{heading(self.target)}\n" + snippet
        exc = AssertionError(text)
        if cells is None and cell is not None:
            cells = [(cell, expected, got)]
        exc.details = {"what": self.what, "message": message, "header": self.header(), "snippet": snippet,
                       "path": self.path,
                       "cells": [{"index": [int(i) for i in idx], "expected": _scalar(e), "got": _scalar(g)}
                                 for idx, e, g in (cells or [])]}
        return exc


def _shape_check(expected: np.ndarray, got: np.ndarray, ctx: CheckContext):
    if expected.shape != got.shape:
        raise ctx.failure(f"shape {tuple(got.shape)}, but the oracle (and the size formula) give "
                          f"{tuple(expected.shape)}")


def _scalar(value):
    """A cell value for JSON: a float when finite, its repr otherwise ('nan', 'inf'), None if unknown."""
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else repr(value)


def _listed(order: np.ndarray, shape: tuple, expected: np.ndarray, got: np.ndarray) -> list[tuple]:
    cells = [tuple(int(i) for i in np.unravel_index(flat, shape)) for flat in order[:MAX_LISTED_CELLS]]
    return [(c, expected[c], got[c]) for c in cells]


def _first(mask: np.ndarray) -> tuple:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def assert_exact(expected: np.ndarray, got: np.ndarray, ctx: CheckContext) -> None:
    """Bit-for-bit equality (NaN matches NaN); on failure, name the first differing cell."""
    __tracebackhide__ = True
    _shape_check(expected, got, ctx)
    differ = ~((expected == got) | (np.isnan(expected) & np.isnan(got)))
    if differ.any():
        cell = _first(differ)
        raise ctx.failure(f"{int(differ.sum())} of {differ.size} cells differ (exact mode: must be bit for bit); "
                          f"first at {cell}: expected {float(expected[cell])!r}, got {float(got[cell])!r}",
                          cell, expected[cell], got[cell], _listed(np.flatnonzero(differ), differ.shape, expected, got))


def assert_within(expected: np.ndarray, got: np.ndarray, bound: np.ndarray, ctx: CheckContext) -> float:
    """``|got - expected| <= bound`` everywhere; returns the largest share of the bound used."""
    __tracebackhide__ = True
    _shape_check(expected, got, ctx)
    err = np.abs(got - expected)
    bad = ~(err <= bound)
    if bad.any():
        ratio = np.where(bound > 0, err / np.where(bound > 0, bound, 1), np.inf)
        ranked = np.where(bad, np.nan_to_num(ratio, nan=np.inf), -1).ravel()
        worst_first = np.argsort(-ranked, kind="stable")[:int(bad.sum())]
        cell = tuple(int(i) for i in np.unravel_index(worst_first[0], bad.shape))
        raise ctx.failure(f"{int(bad.sum())} of {bad.size} cells exceed the rounding bound; worst at {cell}: "
                          f"expected {float(expected[cell])!r}, got {float(got[cell])!r}, |diff| {err[cell]:.3e} "
                          f"> bound "
                          f"{bound[cell]:.3e} ({err[cell] / bound[cell] if bound[cell] else np.inf:.1f}x)",
                          cell, expected[cell], got[cell], _listed(worst_first, bad.shape, expected, got))
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = np.where(bound > 0, err / bound, 0.0)
    return float(shares.max()) if shares.size else 0.0
