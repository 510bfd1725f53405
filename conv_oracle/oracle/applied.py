"""The oracle applied to a case: the reference result of one :class:`~conv_oracle.definition.case.Case`
on given operands (numpy in, numpy out, float64)."""

from __future__ import annotations

import numpy as np

from ..definition.case import Case
from . import functional


def oracle_forward(case: Case, x, w, b) -> np.ndarray:
    """The reference result of ``case`` on these operands. IEEE arithmetic on the definition: a
    non-finite operand gives, in each cell whose terms include it, what IEEE gives for that sum of
    products (+-Inf; NaN for Inf * 0, Inf - Inf or a NaN term); zero padding is part of the input, so a
    non-finite tap over it gives Inf * 0 = NaN; no warning is raised for it (:func:`~.arrays.ieee`)."""
    return getattr(functional, case.fn_name)(x, w, b, **case.oracle_kwargs())
