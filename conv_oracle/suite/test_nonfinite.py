"""Non-finite operands inside the taps' footprints: +-Inf and NaN placed in the input, the weight, the bias or
the output gradient.

The definition under IEEE arithmetic says, per cell, what the result is (+-Inf where an infinite term
or bias reaches it; NaN for Inf * 0, Inf - Inf or a NaN term; every other cell unchanged and exact), and
the target must match cell for cell (NaN matches NaN). Zero padding is part of the input (torch's
definition: the input padded with zeros), so a non-finite weight tap over it gives NaN. Pixels no output
reads and bias-only cells have their own tests (test_skips.py)."""

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import assume, event, given, note
from hypothesis import strategies as st

from conv_oracle import strategies as cs
from conv_oracle.checks import properties
from conv_oracle.checks.operands import Operands, output_gradient
from conv_oracle.definition.dtypes import FLOAT_DTYPES
from conv_oracle.targets.execution import supports

pytestmark = pytest.mark.differential

VALUES = st.lists(st.sampled_from([np.inf, -np.inf, np.nan]), min_size=1, max_size=3)


@pytest.mark.parametrize("where", ["input", "weight", "bias"])
@pytest.mark.parametrize("dtype", list(FLOAT_DTYPES))
@given(case=cs.cases(padding_modes=False, output_size=False), seed=st.integers(0, 2**32 - 1), values=VALUES,
       x_layout=cs.layouts(), w_layout=cs.layouts())
def test_nonfinite_operands(target, record, where, dtype, case, seed, values, x_layout, w_layout):
    """Exact small-integer operands with 1-3 of +-Inf / NaN put in; bit for bit against the definition."""
    if target.unsupported(dtype):
        pytest.skip(target.unsupported(dtype))
    if where == "bias" and not case.bias:
        case = replace(case, bias=True)
    assume(supports(target, case) is None)  # per example (a skip here would end the whole test)
    magnitude = cs.exactness(case, dtype, target).magnitude
    mode = "exact" if magnitude else "float"
    event(f"mode={mode}")
    ops = cs.make_operands(case, mode, seed, magnitude or 1, "expanded" if x_layout == "expanded" else "contiguous")
    x, w, b = ops.x.copy(), ops.w.copy(), None if ops.b is None else ops.b.copy()
    part = {"input": x, "weight": w, "bias": b}[where]
    if x_layout == "expanded" and where == "input":  # keep the batch rows equal, so the view still applies
        part = x[:1] if x.shape[0] > 1 else x
    rng = np.random.default_rng(seed)
    assume(part.size > 0)  # a cell to place a value in
    flat = part.reshape(-1)
    for v in values:
        flat[rng.integers(flat.size)] = v
    if x_layout == "expanded" and where == "input" and x.shape[0] > 1:
        x[:] = x[:1]
    event(f"{where}: {', '.join(sorted({str(v) for v in values}))}")
    changed = Operands(x, w, b, ops.mode, ops.magnitude, seed)
    note(f"operands: {changed!r}, non-finite values {values} in {where}")
    with record(f"forward_nonfinite_{where}", target, case, dtype=dtype, mode=mode, x_layout=x_layout,
                w_layout=w_layout, seed=seed) as rec:
        rec.update(properties.forward(target, case, changed, dtype, x_layout, w_layout))


@pytest.mark.parametrize("wrt", ["input", "weight", "bias"])
@pytest.mark.parametrize("dtype", list(FLOAT_DTYPES))
@given(case=cs.cases(max_side=6, max_batch=2, padding_modes=False, output_size=False),
       seed=st.integers(0, 2**32 - 1), values=VALUES, x_layout=cs.layouts(), w_layout=cs.layouts())
def test_nonfinite_output_gradient(target, record, wrt, dtype, case, seed, values, x_layout, w_layout):
    """Exact small-integer operands and output gradient, 1-3 of +-Inf / NaN put in the output gradient;
    the gradient of ``wrt`` bit for bit against the definition: a pixel no output reads keeps 0 (the sum
    over no terms), a conv's zero padding adds ``gy * 0`` to the weight gradient (NaN under an infinite
    ``gy``), a transposed conv's cropped cells add nothing."""
    if target.unsupported(dtype, autograd=True):
        pytest.skip(target.unsupported(dtype, autograd=True))
    if wrt == "bias" and not case.bias:
        case = replace(case, bias=True)
    assume(supports(target, case) is None)  # per example (a skip here would end the whole test)
    magnitude = min(3, cs.exact_magnitude(case, target.exactness_dtype(dtype), gradients=True))
    assume(magnitude > 0)  # exact operands only: a non-finite output gradient has no rounding bound
    ops = cs.make_operands(case, "exact", seed, magnitude, "expanded" if x_layout == "expanded" else "contiguous")
    gy = output_gradient(ops, case.output_shape)
    rng = np.random.default_rng(seed)
    assume(gy.size > 0)  # a cell to place a value in
    for v in values:
        gy.reshape(-1)[rng.integers(gy.size)] = v
    event(f"output gradient: {', '.join(sorted({str(v) for v in values}))}")
    changed = Operands(ops.x, ops.w, ops.b, "exact", magnitude, seed, gy=gy)
    note(f"operands: {changed!r}, non-finite values {values} in the output gradient")
    with record(f"gradient_nonfinite_{wrt}", target, case, dtype=dtype, mode="exact", x_layout=x_layout,
                w_layout=w_layout, seed=seed, operands={"magnitude": magnitude, "gy": "non-finite"}) as rec:
        rec.update(properties.gradients(target, case, changed, dtype, wrt, x_layout, w_layout))
