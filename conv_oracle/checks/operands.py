"""Operand values, Hypothesis-free (snapshots, explain, the suite and other projects share them).

Three kinds:

* ``exact``: integers in ``[-m, m]`` with ``m`` from :func:`exact_magnitude`, so that every partial
  sum of every summation order is an integer below ``2^p`` (``p`` the claimed dtype's mantissa):
  the result is exact, any difference is a defect. These integers are also exact in every
  narrower format, so they cannot see operand rounding.
* ``probe``: the precision probe. One operand (input or weight, by seed) holds "wide" integers
  ``2^q + 1 + 4j`` that need ``q + 1`` significant bits, ``q`` the mantissa of the widest format
  narrower than the claimed dtype (:func:`probe_format`); the other holds ``1..m``. Every such value
  is a tie or off-grid in any format with at most ``q`` bits, and rounds *down* by exactly 1 in
  magnitude under round-to-nearest-even and truncation alike (its neighbours there are
  ``2^q + 4j``, even, and ``2^q + 4j + 2``, odd). Signs are flipped per operand, not per value, so
  the rounding errors of one cell never cancel. Wide values are thinned until ``sum |x||w| + |b|
  < 2^p`` in every cell, checked with the oracle on absolute values: every partial sum in every
  order is then an integer below ``2^p``, exact in the claimed dtype, at any number of terms.
  A target that rounds operands to (or accumulates in) ``q`` bits or fewer differs bit for bit.
* ``float``: uniform values in ``[-1, 1]``, checked against the rounding bound.

:func:`exactness` is the one policy choosing among them for ``(case, dtype, target)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..definition import geometry
from ..definition.case import Case
from ..definition.dtypes import FACTS, facts
from ..oracle.applied import oracle_forward

MANTISSA_BITS = {name: f.mantissa_bits for name, f in FACTS.items()}


def input_copies(cfg) -> int:
    """The most padded copies of one input pixel (reflect / replicate / circular padding), all dimensions."""
    return math.prod(geometry.max_copies(L, pb, pa, cfg.padding_mode) for L, (pb, pa) in zip(cfg.input_size, cfg.padding))


def forward_terms(case: Case) -> int:
    """Products per output cell of the forward operator (bias excluded)."""
    cfg = case.config()
    return (cfg.in_channels // cfg.groups) * math.prod(cfg.kernel_size)


GRADIENTS = ("input", "weight", "bias")


def gradient_terms(case: Case, wrt: str) -> int:
    """The most products summed into one cell of the gradient for ``wrt``: ``n`` in its float bound
    ``gamma_n(u)``, which is vacuous (infinite) once ``n * u >= 1``."""
    cfg = case.config()
    return {"input": (cfg.out_channels // cfg.groups) * math.prod(cfg.kernel_size) * input_copies(cfg),
            "weight": cfg.batch * math.prod(cfg.input_size if case.transposed else cfg.output_size),
            "bias": cfg.batch * math.prod(cfg.output_size)}[wrt]


def exact_magnitude(case: Case, dtype: str, gradients: bool = False) -> int:
    """Largest integer ``m`` such that with every operand in ``[-m, m]`` each partial sum (forward,
    and the three gradients if asked) stays below ``2**mantissa``: results are then exact in
    any summation order. 0 when even ``m = 1`` cannot guarantee it."""
    counts = [forward_terms(case) + 1]  # + 1: a bias, whether or not the case has one
    if gradients:
        counts += [gradient_terms(case, wrt) for wrt in GRADIENTS]
    limit = facts(dtype).exact_integer_limit
    m = math.isqrt(limit // max(counts))
    if not facts(dtype).storage or dtype in ("float16", "bfloat16"):  # the operands themselves must be representable
        m = min(m, limit)
    return m if m >= 1 else 0


def probe_format(dtype: str) -> str | None:
    """The widest format with fewer mantissa bits than ``dtype`` (the one a probe must beat; every
    narrower one is then beaten too), or None when none is narrower (bfloat16)."""
    p = facts(dtype).mantissa_bits
    narrower = [f for f in FACTS.values() if f.mantissa_bits < p]
    if not narrower:
        return None
    q = max(f.mantissa_bits for f in narrower)
    return min(f.name for f in narrower if f.mantissa_bits == q)  # ties (tf32 / float16): same bits, either name


def formats_with_bits(bits: int) -> list[str]:
    return sorted(f.name for f in FACTS.values() if f.mantissa_bits == bits)


@dataclass(frozen=True)
class Exactness:
    """The exactness policy's answer for one ``(case, dtype, target)``.

    ``claimed``: the mantissa the target promises for ``dtype`` (tf32 for a float32 TF32 target);
    ``magnitude``: the integer range of exact operands (0: none is exact, use float mode);
    ``probe``: the format the precision probe exposes (None: no narrower format, or no room)."""

    claimed: str
    magnitude: int
    probe: str | None
    reason: str = ""


def exactness(case: Case, dtype: str, target=None, gradients: bool = False) -> Exactness:
    """The one place deciding exact operands and precision probes. ``target`` (optional) may say
    it computes ``dtype`` with a narrower mantissa (``target.exactness_dtype``, e.g. TF32)."""
    claimed = target.exactness_dtype(dtype) if target is not None else dtype
    magnitude = min(3, exact_magnitude(case, claimed, gradients))
    probe, reason = probe_format(claimed), ""
    if probe is None:
        reason = f"no format narrower than {claimed} to probe"
    elif _wide_budget(case, claimed, probe, 1) < 1:
        probe, reason = None, (f"not even one {probe}-wide term fits {claimed}'s {facts(claimed).mantissa_bits}-bit "
                               f"sums (copies per pixel {input_copies(case.config())})")
    return Exactness(claimed, magnitude, probe, reason)


class Operands:
    """Input, weight and bias values (numpy float64 holding dtype-representable numbers); ``gy``, when
    given, the output gradient a gradient check backpropagates (else :func:`output_gradient` draws it)."""

    def __init__(self, x, w, b, mode: str, magnitude: float, seed: int, probe: str | None = None,
                 wide: str | None = None, gy=None):
        self.x, self.w, self.b, self.mode, self.magnitude, self.seed = x, w, b, mode, magnitude, seed
        self.probe, self.wide, self.gy = probe, wide, gy

    def __repr__(self):
        extra = f", probe={self.probe!r}, wide={self.wide!r}" if self.probe else ""
        extra += ", gy given" if self.gy is not None else ""
        return f"Operands(mode={self.mode!r}, magnitude={self.magnitude}, seed={self.seed}{extra})"


def make_operands(case: Case, mode: str, seed: int, magnitude: int = 3, layout: str = "contiguous") -> Operands:
    """Deterministic operands for ``case`` from ``seed`` (also used outside Hypothesis: snapshots, explain).

    ``layout='expanded'`` makes the batch (input) and output-channel (weight) axes copies of their
    first slice, so that the target can be given broadcast views of the same values."""
    rng = np.random.default_rng(seed)

    def draw(shape):
        if mode == "exact":
            return rng.integers(-magnitude, magnitude + 1, size=shape).astype(np.float64)
        return rng.uniform(-1.0, 1.0, size=shape)

    x, w = draw(case.input_shape), draw(case.weight_shape)
    if layout == "expanded":
        if case.batch is not None:
            x = np.broadcast_to(x[:1], x.shape).copy()
        w = np.broadcast_to(w[:1], w.shape).copy()
    b = draw(case.bias_shape) if case.bias else None
    return Operands(x, w, b, mode, magnitude, seed)


def output_gradient(ops: Operands, shape: tuple) -> np.ndarray:
    """The output gradient the gradient property backpropagates: ``ops.gy`` when given, else from
    ``ops.seed + 1``, small integers in exact modes, uniform in float mode."""
    if ops.gy is not None:
        if tuple(ops.gy.shape) != tuple(shape):
            raise ValueError(f"the given output gradient has shape {list(ops.gy.shape)}; the output is {list(shape)}")
        return np.array(ops.gy, dtype=np.float64)
    rng = np.random.default_rng(ops.seed + 1)
    if ops.mode == "float":
        return rng.uniform(-1, 1, size=shape)
    return rng.integers(-ops.magnitude, ops.magnitude + 1, size=shape).astype(np.float64)


# Probe operands: wide values 2^q + 1 + 4j (j < WIDE_SPREAD), the other operand in 1..OTHER_MAX.
WIDE_SPREAD = 4
OTHER_MAX = 3
PROBE_BIAS = 3


def _wide_budget(case: Case, claimed: str, probe: str, other_max: int) -> int:
    """How many wide products fit one cell: ``(2^p - |b|max) // (wide_max * other_max)``, divided by
    the most times one operand value can enter a cell (padded copies of a pixel)."""
    wide_max = 2 ** facts(probe).mantissa_bits + 1 + 4 * (WIDE_SPREAD - 1)
    room = facts(claimed).exact_integer_limit - PROBE_BIAS
    return room // (wide_max * other_max) // input_copies(case.config())


def round_to(values: np.ndarray, fmt: str) -> np.ndarray:
    """``values`` rounded to ``fmt``'s mantissa, to nearest even (exponent range not modelled:
    probe values are far from it)."""
    p = facts(fmt).mantissa_bits
    m, e = np.frexp(np.asarray(values, dtype=np.float64))
    return np.ldexp(np.round(np.ldexp(m, p)), e - p)


def make_probe_operands(case: Case, claimed: str, probe: str, seed: int, attempts: int = 8) -> Operands | None:
    """Precision-probe operands (module docstring), or None when no draw can show a rounding to
    ``probe`` (e.g. every wide value lands on skipped pixels): never a vacuous probe."""
    rng = np.random.default_rng(seed)
    q = facts(probe).mantissa_bits
    limit = facts(claimed).exact_integer_limit
    other_max = OTHER_MAX if _wide_budget(case, claimed, probe, OTHER_MAX) >= 4 else 1
    if _wide_budget(case, claimed, probe, other_max) < 1:
        return None
    wide_name = ("input", "weight")[seed % 2]
    other_name = "weight" if wide_name == "input" else "input"
    shapes = {"input": case.input_shape, "weight": case.weight_shape}
    # the most products one cell really sums (padded copies included), from the oracle on ones
    most = oracle_forward(case, np.ones(case.input_shape), np.ones(case.weight_shape), None)
    most = max(1.0, float(most.max()) if most.size else 1.0)
    wide_max = 2 ** q + 1 + 4 * (WIDE_SPREAD - 1)
    density = min(1.0, (limit - PROBE_BIAS) / (wide_max * other_max) / most)
    b = rng.integers(-PROBE_BIAS, PROBE_BIAS + 1, size=case.bias_shape).astype(np.float64) if case.bias else None
    for _ in range(attempts):
        wide = (2 ** q + 1 + 4 * rng.integers(0, WIDE_SPREAD, size=shapes[wide_name])).astype(np.float64)
        wide = _thinned(wide, density, rng)
        wide *= rng.choice((-1.0, 1.0))  # one sign per operand: a cell's rounding errors never cancel
        other = rng.choice((-1.0, 1.0)) * rng.integers(1, other_max + 1, size=shapes[other_name]).astype(np.float64)
        for _ in range(64):  # thin the wide values until every cell's magnitude sum fits 2^p
            x, w = (wide, other) if wide_name == "input" else (other, wide)
            P = oracle_forward(case, np.abs(x), np.abs(w), None) + (0 if b is None else _bias_abs(case, b))
            # strict: a float64 sum below 2^p is the exact sum (rounding is monotone), so every
            # partial sum is an integer below 2^p even for p = 53
            if P.size == 0 or P.max() < limit:
                break
            wide = _thinned(wide, 0.5, rng)
        else:
            continue
        exact = oracle_forward(case, x, w, b)
        if not np.array_equal(exact, oracle_forward(case, round_to(x, probe), round_to(w, probe), b)):
            return Operands(x, w, b, "probe", other_max, seed, probe=probe, wide=wide_name)
    return None  # no cell would show the rounding: refuse rather than pass vacuously


def _thinned(wide: np.ndarray, keep: float, rng) -> np.ndarray:
    """``wide`` with each non-zero kept with probability ``keep``, but never none of them (one wide
    value alone fits every cell's budget: ``exactness`` checked it)."""
    kept = wide * (rng.random(wide.shape) < keep)
    if not kept.any() and wide.any():
        flat = np.flatnonzero(wide)
        one = flat[rng.integers(flat.size)]
        kept.flat[one] = wide.flat[one]
    return kept


def _bias_abs(case: Case, b: np.ndarray) -> np.ndarray:
    return np.abs(b).reshape((-1,) + (1,) * case.nd)
