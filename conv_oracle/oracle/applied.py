"""The oracle applied to a case: the reference result of one :class:`~conv_oracle.definition.case.Case`
on given operands (numpy in, numpy out, float64)."""

from __future__ import annotations

import numpy as np

from ..definition.case import Case
from . import functional


def oracle_forward(case: Case, x, w, b) -> np.ndarray:
    """The reference result of ``case`` on these operands."""
    return getattr(functional, case.fn_name)(x, w, b, **case.oracle_kwargs())
