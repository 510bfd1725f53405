"""Properties 3 and 4: skipped input pixels (conv) and bias-only output cells (transposed conv)
are exactly where the geometry predicts, and non-finite values elsewhere never reach them; in every
dtype the target supports (the checks are exact in each: sums of ones and small integers)."""

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from conv_oracle import strategies as cs
from conv_oracle.checks import properties
from conv_oracle.definition.dtypes import FLOAT_DTYPES
from conv_oracle.definition.historical import FINDINGS, HISTORICAL, HISTORICAL_MODULES
from conv_oracle.strategies.historical import pinned
from conv_oracle.targets.execution import supports

pytestmark = pytest.mark.differential
SEEDS = st.integers(0, 2**32 - 1)


def _cases(op, untouched=False):
    """Module-only cases included: targets without nn modules check ``case.functional()`` instead.
    ``untouched``: only cases with a skipped input pixel / bias-only output cell to poison."""
    return cs.cases(op=op, untouched=untouched)


def _check(target, record, prop, fn, case, dtype, seed, x_layout, w_layout, parts):
    if target.unsupported(dtype, autograd=fn is properties.skipped_pixels and "coverage" in parts):
        pytest.skip(target.unsupported(dtype, autograd=fn is properties.skipped_pixels and "coverage" in parts))
    case = case if supports(target, case) is None else case.functional()
    assume(supports(target, case) is None)
    cs.tag_regimes(case, x_layout)
    with record(prop, target, case, dtype=dtype, x_layout=x_layout, w_layout=w_layout, seed=seed) as rec:
        rec.update(fn(target, case, dtype, seed, x_layout, w_layout, parts=parts))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pinned(HISTORICAL | HISTORICAL_MODULES, op="conv", seed=0)
@given(case=_cases("conv"), seed=SEEDS, x_layout=cs.layouts(), w_layout=cs.layouts())
def test_skipped_input_pixels(target, record, dtype, case, seed, x_layout, w_layout):
    """Input gradient exactly 0 on the predicted skipped pixels and non-zero on every other pixel."""
    _check(target, record, "skipped_input_pixels", properties.skipped_pixels, case, dtype, seed, x_layout,
           w_layout, ("coverage",))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pinned(HISTORICAL | HISTORICAL_MODULES, op="conv", seed=0)
@given(case=_cases("conv", untouched=True), seed=SEEDS, x_layout=cs.layouts(), w_layout=cs.layouts())
def test_skipped_pixels_ignore_nonfinite(target, record, dtype, case, seed, x_layout, w_layout):
    """NaN, +Inf or -Inf on every skipped input pixel changes no output bit."""
    _check(target, record, "skipped_pixels_nonfinite", properties.skipped_pixels, case, dtype, seed, x_layout,
           w_layout, ("nonfinite",))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pinned(HISTORICAL | HISTORICAL_MODULES, op="conv_transpose", seed=0)
@given(case=_cases("conv_transpose"), seed=SEEDS, x_layout=cs.layouts(), w_layout=cs.layouts())
def test_bias_only_output_cells(target, record, dtype, case, seed, x_layout, w_layout):
    """The cells that equal the bias bit for bit (all-ones operands) are exactly the predicted ones."""
    _check(target, record, "bias_only_output_cells", properties.bias_only_cells, case, dtype, seed, x_layout,
           w_layout, ("coverage",))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pinned(HISTORICAL | HISTORICAL_MODULES | FINDINGS, op="conv_transpose", seed=0)
@given(case=_cases("conv_transpose", untouched=True), seed=SEEDS, x_layout=cs.layouts(), w_layout=cs.layouts())
def test_bias_only_cells_ignore_nonfinite(target, record, dtype, case, seed, x_layout, w_layout):
    """With NaN / Inf spread over inputs and weights, every bias-only cell still equals the bias bit for bit."""
    _check(target, record, "bias_only_nonfinite", properties.bias_only_cells, case, dtype, seed, x_layout,
           w_layout, ("nonfinite",))
