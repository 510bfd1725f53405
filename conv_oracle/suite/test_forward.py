"""Property 1: forward values equal the oracle's, bit for bit (exact mode) or within the rounding bound."""

from dataclasses import replace

import pytest
from hypothesis import assume, given, note
from hypothesis import strategies as st

from conv_oracle import strategies as cs
from conv_oracle.checks import properties
from conv_oracle.definition.case import OPS
from conv_oracle.definition.dtypes import FLOAT_DTYPES
from conv_oracle.definition.historical import HISTORICAL_MODULES
from conv_oracle.strategies.historical import pinned
from conv_oracle.targets.execution import supports

pytestmark = pytest.mark.differential

DTYPES = list(FLOAT_DTYPES)
SEEDS = st.integers(0, 2**32 - 1)
FUNCTIONAL = cs.cases(padding_modes=False, output_size=False)


def _skip_unsupported(target, dtype):
    if target.unsupported(dtype):
        pytest.skip(target.unsupported(dtype))


def _check(target, record, case, dtype, mode, seed, x_layout, w_layout, prop):
    assume(supports(target, case) is None)  # e.g. a plugged-in module without conv1d / conv3d
    magnitude = cs.exactness(case, dtype, target).magnitude
    if mode == "exact" and magnitude == 0:
        mode = "float"  # no integer range is exact for this many terms in this dtype
    made = {"magnitude": magnitude or 1, "layout": x_layout if x_layout == "expanded" else "contiguous"}
    ops = cs.make_operands(case, mode, seed, made["magnitude"], made["layout"])
    note(f"operands: {ops!r}")
    with record(prop, target, case, dtype=dtype, mode=mode, x_layout=x_layout, w_layout=w_layout,
                seed=seed, operands=made) as rec:
        rec.update(properties.forward(target, case, ops, dtype, x_layout, w_layout))


@pytest.mark.parametrize("dtype", DTYPES)
@pinned(seed=0)
@given(case=FUNCTIONAL, seed=SEEDS, x_layout=cs.layouts(), w_layout=cs.layouts())
def test_forward_exact(target, record, dtype, case, seed, x_layout, w_layout):
    """Small-integer operands: every summation order is exact, so the target must match bit for bit."""
    _skip_unsupported(target, dtype)
    cs.tag_regimes(case, x_layout)
    _check(target, record, case, dtype, "exact", seed, x_layout, w_layout, "forward_exact")


@pytest.mark.parametrize("dtype", DTYPES)
@pinned(seed=0)
@given(case=FUNCTIONAL, seed=SEEDS, x_layout=cs.layouts(), w_layout=cs.layouts())
def test_forward_float(target, record, dtype, case, seed, x_layout, w_layout):
    """Random floats: |target - oracle| <= gamma_n(u) (|x| conv |w| + |b|) per cell (checks/comparison.py)."""
    _skip_unsupported(target, dtype)
    cs.tag_regimes(case, x_layout)
    _check(target, record, case, dtype, "float", seed, x_layout, w_layout, "forward_float")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", cs.LAYOUTS)
@given(case=FUNCTIONAL, seed=SEEDS, other=cs.layouts())
def test_layouts(target, record, layout, dtype, case, seed, other):
    """Each memory layout, for input and for weight in turn, in each dtype: exact operands where the
    dtype keeps every partial sum exact, otherwise random floats within the rounding bound."""
    _skip_unsupported(target, dtype)
    cs.tag_regimes(case, other)
    _check(target, record, case, dtype, "exact", seed, layout, other, "layout_input")
    _check(target, record, case, dtype, "exact", seed, other, layout, "layout_weight")


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("batch", [None, 1, 3])
@given(data=st.data())
def test_dims_and_batch(target, record, nd, batch, data):
    """Every dimensionality with unbatched, single and multi-sample batches."""
    ops = [op for op in OPS if target.function(f"{op}{nd}d")]
    if not ops:
        pytest.skip(f"{target.name} defines neither conv{nd}d nor conv_transpose{nd}d")
    case = data.draw(cs.cases(op=data.draw(st.sampled_from(ops), label="op"), nd=nd, padding_modes=False,
                              output_size=False).map(lambda c: replace(c, batch=batch)), label="case")
    seed = data.draw(SEEDS, label="seed")
    cs.tag_regimes(case)
    _check(target, record, case, "float32", "exact", seed, "contiguous", "contiguous", "dims_batch")


@pinned(HISTORICAL_MODULES, seed=0)
@given(case=cs.cases(module_only=True), seed=SEEDS, x_layout=cs.layouts(), w_layout=cs.layouts())
def test_module_forward(target, record, case, seed, x_layout, w_layout):
    """nn.Conv*d with reflect / replicate / circular padding and nn.ConvTranspose*d with output_size,
    exact float32 operands, against the oracle's padding_mode / output_size handling."""
    if not target.modules and not target.capability.options:
        pytest.skip(f"{target.name}: padding_mode and output_size need torch's nn modules or the target's own")
    cs.tag_regimes(case)
    _check(target, record, case, "float32", "exact", seed, x_layout, w_layout, "module_forward")


#: more products per cell than a 512-term block: a target that accumulates in a narrower format past
#: some length (bfloat16 above 512, say) cannot hide there; half precision gets a meaningful bound only in float16
WIDE_TERMS = 513
WIDE = cs.cases(padding_modes=False, output_size=False, min_terms=WIDE_TERMS, max_side=5, max_batch=2)


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
@given(case=WIDE, seed=SEEDS, x_layout=cs.layouts(), w_layout=cs.layouts())
def test_forward_wide_reduction(target, record, dtype, case, seed, x_layout, w_layout):
    """At least 513 products in every cell a tap reaches: exact small integers where the dtype holds
    every partial sum (float64, float32), the rounding bound elsewhere."""
    _skip_unsupported(target, dtype)
    cs.tag_regimes(case, x_layout)
    _check(target, record, case, dtype, "exact", seed, x_layout, w_layout, "forward_wide")
