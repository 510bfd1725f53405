"""The Hypothesis strategy for operand values; the values themselves come from the Hypothesis-free
:mod:`conv_oracle.checks.operands` (re-exported here)."""

from __future__ import annotations

from hypothesis import strategies as st

from ..definition.case import Case
from ..checks.operands import (MANTISSA_BITS, Exactness, Operands, exact_magnitude, exactness, input_copies,  # noqa: F401
                        make_operands, make_probe_operands, probe_format)


@st.composite
def operands(draw, case: Case, mode: str = "exact", dtype: str = "float32", layout: str = "contiguous",
             gradients: bool = False) -> Operands:
    """Operands for ``case``. In exact mode, values are integers in ``[-m, m]`` with
    ``m = exactness(case, dtype).magnitude`` (the one policy, :mod:`conv_oracle.checks.operands`); if no ``m`` keeps ``dtype`` exact, ``float`` values
    are drawn instead and ``mode`` says so."""
    if mode == "exact":
        m = exactness(case, dtype, gradients=gradients).magnitude
        if m == 0:
            mode = "float"
    seed = draw(st.integers(0, 2**32 - 1))
    return make_operands(case, mode, seed, m if mode == "exact" else 1, layout)
