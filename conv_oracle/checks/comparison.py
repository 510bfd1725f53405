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

import math
import sys
from dataclasses import dataclass, field

import numpy as np

from ..definition import geometry
from ..definition.case import Case
from ..definition.dtypes import FACTS, unit_roundoff
from . import failure_kinds
from .failure_kinds import FailureKind

MAX_LISTED_TAPS = 6
MAX_LISTED_CELLS = 8


def gamma(n: int, u: float) -> float:
    nu = n * u
    return nu / (1.0 - nu) if nu < 1 else float("inf")


def rounding_bound(P: np.ndarray, bias_abs: np.ndarray | float, n: int, precision: tuple[float, float, float]):
    """Element-wise bound from the magnitude sum ``P`` (see the module docstring). A cell whose
    magnitudes are all zero gets ``n * eta``, never ``inf * 0``."""
    u_in, u_acc, eta = precision
    mag = P + bias_abs
    with np.errstate(invalid="ignore"):
        accumulated = np.where(mag > 0, gamma(n, u_acc) * (1 + u_in) ** 2 * mag, 0.0)
    return (2 * u_in + u_in**2) * P + accumulated + n * eta


ORACLE_PRECISION = (0.0, 2.0**-53, 2.0**-1074)  # eta: float64's half subnormal is 0 in float64: the subnormal


def comparison_bound(P: np.ndarray, bias_abs: np.ndarray | float, n: int, precision: tuple[float, float, float]):
    """Bound on ``|target - oracle|``: the target's rounding bound plus the oracle's own."""
    return rounding_bound(P, bias_abs, n, precision) + rounding_bound(P, bias_abs, n, ORACLE_PRECISION)


def vacuous_reason(P: np.ndarray, bias_abs: np.ndarray | float, n: int, precision: tuple[float, float, float],
                   bound: np.ndarray | None = None) -> str | None:
    """Why the bound cannot tell a result from zero, or None. Vacuous when ``n u >= 1`` (infinite
    bound) or when, in some cell with non-zero magnitudes, ``bound >= P + |b|``: there a target
    returning 0 would pass. Such examples are refused (not checkable), never passed."""
    u_in, u_acc, _ = precision
    if n * u_acc >= 1:
        return f"n*u = {n}*2^{np.log2(u_acc):.0f} >= 1: the rounding bound is infinite"
    if bound is None:
        bound = comparison_bound(P, bias_abs, n, precision)
    mag = np.broadcast_to(P + bias_abs, np.shape(bound))
    covering = (mag > 0) & (bound >= mag)
    if covering.any():
        cell = tuple(int(i) for i in np.argwhere(covering)[0])
        return (f"the bound {float(bound[cell]):.3e} at {cell} is at least the magnitudes |x|(*)|w| + |b| = "
                f"{float(mag[cell]):.3e} there ({n} terms): zero would pass")
    return None


#: per-example false-alarm probability of the statistical signal (all cells together)
FALSE_ALARM = 1e-6


def probabilistic_gamma(n: int, u: float, cells: int, alpha: float = FALSE_ALARM) -> tuple[float, float]:
    """``(gamma~_n(lambda), lambda)`` of Higham & Mary (SISC 2019, Thm 3.1): if the rounding errors
    are independent, mean-zero random variables bounded by ``u``, a sum of ``n`` products has
    ``|error| <= gamma~_n(lambda) sum |x_i y_i|`` with ``gamma~_n(lambda) = exp(lambda sqrt(n) u +
    n u^2 / (1 - u)) - 1``, except with probability at most ``2 n exp(-lambda^2 (1 - u)^2 / 2)``.
    ``lambda`` is chosen so that this, summed over ``cells`` cells, is ``alpha``."""
    lam = math.sqrt(2 * math.log(2 * max(n, 1) * max(cells, 1) / alpha)) / (1 - u)
    return math.expm1(lam * math.sqrt(n) * u + n * u * u / (1 - u)), lam


def suspicious_precision(expected: np.ndarray, got: np.ndarray, P: np.ndarray, bias_abs, n: int,
                         precision: tuple[float, float, float], dtype: str, alpha: float = FALSE_ALARM) -> dict | None:
    """The statistical signal for float mode: the error exceeds the probabilistic bound (operand
    rounding still worst-case, accumulation ``gamma~_n(lambda)``, plus the oracle's own worst
    case). Returns what to record ("suspicious precision", the false-alarm probability, the
    hint), or None. Never a failure by itself: its model (independent errors) is an assumption."""
    u_in, u_acc, eta = precision
    g, lam = probabilistic_gamma(n, u_acc, expected.size, alpha)
    if not g < gamma(n, u_acc):
        return None
    mag = P + bias_abs
    bound = ((2 * u_in + u_in**2) * P + g * (1 + u_in) ** 2 * mag + n * eta
             + rounding_bound(P, bias_abs, n, ORACLE_PRECISION))
    err = np.abs(got - expected)
    over = err > bound
    if not over.any():
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(bound > 0, err / bound, np.inf)
    cell = tuple(int(i) for i in np.unravel_index(int(np.argmax(np.where(over, share, -1))), over.shape))
    mag_cell = float(np.broadcast_to(mag, err.shape)[cell])
    return {"signal": "suspicious precision", "cells_over": int(over.sum()), "share": float(share[cell]),
            "lambda": round(lam, 3), "false_alarm": alpha, "cell": list(cell),
            "hint": precision_hint(float(err[cell]), mag_cell, dtype)}


def precision_hint(err: float, magnitude: float, dtype: str) -> str:
    """The error in units of ``dtype``'s roundoff, and the narrower format it is consistent with:
    the one whose unit roundoff is nearest (log scale) to ``err / magnitude``."""
    if not (magnitude > 0 and np.isfinite(err) and err > 0):
        return f"|diff| {err:.3e} at magnitude {magnitude:.3e}"
    rel = err / magnitude
    u = unit_roundoff(dtype)
    text = f"about 2^{math.log2(rel):.1f} relative ({rel / u:.3g} u of {dtype})"
    narrower = [f for f in FACTS.values() if f.unit_roundoff > u]
    if rel > 2.0 ** -4:
        return text + ": far beyond any floating-point rounding, a wrong value"
    if not narrower:
        return text
    best = min(abs(math.log2(rel) - math.log2(f.unit_roundoff)) for f in narrower)
    names = sorted(f.name for f in narrower if abs(math.log2(rel) - math.log2(f.unit_roundoff)) == best)
    return text + f": consistent with {' or '.join(names)} operands or accumulation"


def event(text: str) -> None:
    """``hypothesis.event(text)`` inside a Hypothesis test; nothing elsewhere (snapshots, scripts, a worker)."""
    if "hypothesis" not in sys.modules:  # not imported: not inside its test (and a worker need not load it)
        return
    try:
        from hypothesis import event as hypothesis_event
        hypothesis_event(text)
    except Exception:  # no Hypothesis installed, or not inside a test: events are only statistics
        pass


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
        from ..machine.kernel_path import describe
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
        from .snippets import snippet
        return snippet(self.case, self.target, self.x, self.w, self.b, self.dtype, self.x_layout, self.w_layout,
                       self.device, cell, expected, self.grad_output, self.what, self.path)

    def failure(self, message: str, cell=None, expected=None, got=None, cells=None,
                kind: FailureKind | None = None) -> AssertionError:
        """The AssertionError to raise; its ``details`` attribute carries the same facts as data
        (for the records): what was compared, the message, the differing ``cells`` (each
        ``(index, expected, got)``), the reproduction snippet and the failure's ``kind``
        (:mod:`conv_oracle.checks.failure_kinds`; from the cells when not given)."""
        snippet = self.snippet(cell, expected)
        text = f"{self.header()}\n  {message}"
        if cell is not None:
            text += self.taps_for(cell)
        from .snippets import heading
        text += f"\n{heading(self.target)}\n" + snippet
        exc = AssertionError(text)
        if cells is None and cell is not None:
            cells = [(cell, expected, got)]
        exc.details = {"what": self.what, "message": message, "header": self.header(), "snippet": snippet,
                       "path": self.path,
                       "cells": [{"index": [int(i) for i in idx], "expected": _scalar(e), "got": _scalar(g)}
                                 for idx, e, g in (cells or [])]}
        exc.details["kind"] = (kind or failure_kinds.of_cells(exc.details["cells"])).value
        return exc


def _shape_check(expected: np.ndarray, got: np.ndarray, ctx: CheckContext):
    if expected.shape != got.shape:
        raise ctx.failure(f"shape {tuple(got.shape)}, but the oracle (and the size formula) give "
                          f"{tuple(expected.shape)}", kind=FailureKind.WRONG_SHAPE)


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


def assert_exact(expected: np.ndarray, got: np.ndarray, ctx: CheckContext, explain=None) -> None:
    """Bit-for-bit equality (NaN matches NaN); on failure, name the first differing cell, and add
    ``explain(got)`` (a precision diagnosis) when given."""
    __tracebackhide__ = True
    _shape_check(expected, got, ctx)
    differ = ~((expected == got) | (np.isnan(expected) & np.isnan(got)))
    if differ.any():
        cell = _first(differ)
        extra = f"; {explain(got)}" if explain is not None else ""
        raise ctx.failure(f"{int(differ.sum())} of {differ.size} cells differ (exact mode: must be bit for bit); "
                          f"first at {cell}: expected {float(expected[cell])!r}, got {float(got[cell])!r}{extra}",
                          cell, expected[cell], got[cell], _listed(np.flatnonzero(differ), differ.shape, expected, got))


def assert_within(expected: np.ndarray, got: np.ndarray, bound: np.ndarray, ctx: CheckContext,
                  magnitude: np.ndarray | None = None) -> float:
    """``|got - expected| <= bound`` everywhere; returns the largest share of the bound used. With
    ``magnitude`` (``P + |b|``) a failure adds :func:`precision_hint` for its worst cell."""
    __tracebackhide__ = True
    _shape_check(expected, got, ctx)
    err = np.abs(got - expected)
    bad = ~(err <= bound)
    if bad.any():
        with np.errstate(over="ignore"):  # err / a tiny bound past float64's range: inf, as good a rank
            ratio = np.where(bound > 0, err / np.where(bound > 0, bound, 1), np.inf)
        ranked = np.where(bad, np.nan_to_num(ratio, nan=np.inf), -1).ravel()
        worst_first = np.argsort(-ranked, kind="stable")[:int(bad.sum())]
        cell = tuple(int(i) for i in np.unravel_index(worst_first[0], bad.shape))
        times = ratio[cell] if bound[cell] > 0 else np.inf
        raise ctx.failure(f"{int(bad.sum())} of {bad.size} cells exceed the rounding bound; worst at {cell}: "
                          f"expected {float(expected[cell])!r}, got {float(got[cell])!r}, |diff| {err[cell]:.3e} "
                          f"> bound "
                          f"{bound[cell]:.3e} ({times:.1f}x)"
                          + ("" if magnitude is None else "; error " + precision_hint(
                              float(err[cell]), float(np.broadcast_to(magnitude, err.shape)[cell]), ctx.dtype)),
                          cell, expected[cell], got[cell], _listed(worst_first, bad.shape, expected, got))
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = np.where(bound > 0, err / bound, 0.0)
    return float(shares.max()) if shares.size else 0.0
