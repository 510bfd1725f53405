"""Operand values: exact mode (small integers whose every partial sum is exact in the dtype under
test) and float mode (ordinary random values)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from .. import geometry
from ..case import Case

from ..dtypes import FACTS

MANTISSA_BITS = {name: f.mantissa_bits for name, f in FACTS.items()}


def input_copies(cfg) -> int:
    """The most padded copies of one input pixel (reflect / replicate / circular padding), all dimensions."""
    return math.prod(geometry.max_copies(L, pb, pa, cfg.padding_mode) for L, (pb, pa) in zip(cfg.input_size, cfg.padding))


def exact_magnitude(case: Case, dtype: str, gradients: bool = False) -> int:
    """Largest integer ``m`` such that with every operand in ``[-m, m]`` each partial sum (forward,
    and the three gradients if asked) stays below ``2**mantissa``: results are then exact in
    any summation order. 0 when even ``m = 1`` cannot guarantee it."""
    cfg = case.config()
    taps = math.prod(cfg.kernel_size)
    fwd_terms = (cfg.in_channels // cfg.groups) * taps + 1
    counts = [fwd_terms]
    if gradients:
        n = cfg.batch
        counts.append((cfg.out_channels // cfg.groups) * taps * input_copies(cfg))  # grad_input
        counts.append(n * math.prod(cfg.input_size if case.transposed else cfg.output_size))  # grad_weight
        counts.append(n * math.prod(cfg.output_size))  # grad_bias
    limit = 2 ** MANTISSA_BITS[dtype]
    m = math.isqrt(limit // max(counts))
    if dtype in ("float16", "bfloat16", "tf32"):  # the operands themselves must be representable
        m = min(m, 2 ** MANTISSA_BITS[dtype])
    return m if m >= 1 else 0


class Operands:
    """Input, weight and bias values (numpy float64 holding dtype-representable numbers)."""

    def __init__(self, x, w, b, mode: str, magnitude: float, seed: int):
        self.x, self.w, self.b, self.mode, self.magnitude, self.seed = x, w, b, mode, magnitude, seed

    def __repr__(self):
        return f"Operands(mode={self.mode!r}, magnitude={self.magnitude}, seed={self.seed})"


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


@st.composite
def operands(draw, case: Case, mode: str = "exact", dtype: str = "float32", layout: str = "contiguous",
             gradients: bool = False) -> Operands:
    """Operands for ``case``. In exact mode, values are integers in ``[-m, m]`` with
    ``m = min(3, exact_magnitude(case, dtype))``; if no ``m`` keeps ``dtype`` exact, ``float`` values
    are drawn instead and ``mode`` says so."""
    if mode == "exact":
        m = min(3, exact_magnitude(case, dtype, gradients))
        if m == 0:
            mode = "float"
    seed = draw(st.integers(0, 2**32 - 1))
    return make_operands(case, mode, seed, m if mode == "exact" else 1, layout)
