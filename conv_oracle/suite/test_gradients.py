"""Property 5: gradients for input, weight and bias equal the oracle's adjoints."""

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from conv_oracle import strategies as cs
from conv_oracle.checks import properties
from conv_oracle.definition.historical import HISTORICAL, HISTORICAL_MODULES
from conv_oracle.strategies.historical import pinned
from conv_oracle.targets.execution import supports

pytestmark = pytest.mark.differential


@pytest.mark.parametrize("wrt", ["input", "weight", "bias"])
@pytest.mark.parametrize("mode", ["exact", "float"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pinned(HISTORICAL | HISTORICAL_MODULES, seed=0)
@given(case=cs.cases(), seed=st.integers(0, 2**32 - 1), x_layout=cs.layouts(), w_layout=cs.layouts())
def test_gradient(target, record, wrt, mode, dtype, case, seed, x_layout, w_layout):
    """Exact mode: bit for bit. Float mode: within gamma_n(u) times the adjoint on absolute values."""
    if target.unsupported(dtype, autograd=True):
        pytest.skip(target.unsupported(dtype, autograd=True))
    case = case if supports(target, case) is None else case.functional()
    assume(supports(target, case) is None)
    if wrt == "bias" and not case.bias:
        case = case.__class__(**{**case.to_dict(), "bias": True})
    cs.tag_regimes(case, x_layout)
    m = min(3, cs.exact_magnitude(case, target.exactness_dtype(dtype), gradients=True))
    used = mode if m else "float"
    made = {"magnitude": m or 1, "layout": x_layout if x_layout == "expanded" else "contiguous"}
    ops = cs.make_operands(case, used, seed, made["magnitude"], made["layout"])
    with record(f"gradient_{wrt}", target, case, dtype=dtype, mode=used, x_layout=x_layout, w_layout=w_layout,
                seed=seed, operands=made) as rec:
        rec.update(properties.gradients(target, case, ops, dtype, wrt, x_layout, w_layout))


@pytest.mark.parametrize("wrt", ["input", "weight", "bias"])
@pytest.mark.parametrize("mode", ["exact", "float"])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@given(case=cs.cases(max_side=6, max_batch=2), seed=st.integers(0, 2**32 - 1), x_layout=cs.layouts(),
       w_layout=cs.layouts())
def test_gradient_half(target, record, wrt, mode, dtype, case, seed, x_layout, w_layout):
    """float16 / bfloat16 gradients on smaller cases. Exact mode: the cases whose every partial sum
    fits the dtype's mantissa (others are rejected, never compared loosely), bit for bit. Float mode:
    within gamma_n(u) of the dtype (the rounded output gradient is what the oracle sees); a case whose
    bound is vacuous (n u >= 1) is refused and counted, never passed."""
    if target.unsupported(dtype, autograd=True):
        pytest.skip(target.unsupported(dtype, autograd=True))
    case = case if supports(target, case) is None else case.functional()
    assume(supports(target, case) is None)
    if wrt == "bias" and not case.bias:
        case = case.__class__(**{**case.to_dict(), "bias": True})
    cs.tag_regimes(case, x_layout)
    if mode == "exact":
        m = min(3, cs.exact_magnitude(case, target.exactness_dtype(dtype), gradients=True))
        assume(m > 0)
    else:
        m = 1  # a case whose bound is vacuous is refused by the property and recorded as not checkable
    made = {"magnitude": m, "layout": x_layout if x_layout == "expanded" else "contiguous"}
    ops = cs.make_operands(case, mode, seed, made["magnitude"], made["layout"])
    with record(f"gradient_{wrt}", target, case, dtype=dtype, mode=mode, x_layout=x_layout,
                w_layout=w_layout, seed=seed, operands=made) as rec:
        rec.update(properties.gradients(target, case, ops, dtype, wrt, x_layout, w_layout))
