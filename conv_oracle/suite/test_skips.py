"""Properties 3 and 4: skipped input pixels (conv) and bias-only output cells (transposed conv)
are exactly where the geometry predicts, and non-finite values elsewhere never reach them."""

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from conv_oracle import properties, strategies as cs
from conv_oracle.execution import supports
from conv_oracle.historical import HISTORICAL, HISTORICAL_MODULES, pinned

pytestmark = pytest.mark.differential
SEEDS = st.integers(0, 2**32 - 1)


def _cases(op):
    """Module-only cases included: targets without nn modules check ``case.functional()`` instead."""
    return cs.cases(op=op)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pinned(HISTORICAL | HISTORICAL_MODULES, op="conv", seed=0)
@given(case=_cases("conv"), seed=SEEDS, x_layout=cs.layouts(), w_layout=cs.layouts())
def test_skipped_input_pixels(target, record, dtype, case, seed, x_layout, w_layout):
    """Input gradient exactly 0 on predicted skipped pixels, non-zero elsewhere; NaN/Inf there is invisible."""
    case = case if target.modules else case.functional()
    assume(supports(target, case) is None)
    cs.tag_regimes(case)
    with record("skipped_input_pixels", target, case, dtype=dtype, x_layout=x_layout, w_layout=w_layout) as rec:
        rec.update(properties.skipped_pixels(target, case, dtype, seed, x_layout, w_layout))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pinned(HISTORICAL | HISTORICAL_MODULES, op="conv_transpose", seed=0)
@given(case=_cases("conv_transpose"), seed=SEEDS, x_layout=cs.layouts(), w_layout=cs.layouts())
def test_bias_only_output_cells(target, record, dtype, case, seed, x_layout, w_layout):
    """Cells no kernel copy reaches equal the bias bit for bit, even with NaN/Inf operands."""
    case = case if target.modules else case.functional()
    assume(supports(target, case) is None)
    cs.tag_regimes(case)
    with record("bias_only_output_cells", target, case, dtype=dtype, x_layout=x_layout, w_layout=w_layout) as rec:
        rec.update(properties.bias_only_cells(target, case, dtype, seed, x_layout, w_layout))
