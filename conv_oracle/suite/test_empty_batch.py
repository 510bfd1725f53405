"""Batch 0: an empty batch is a legal call. The output is empty with the size formula's shape, and the
weight and bias gradients are sums over no terms, exactly 0: a kernel that leaves them uninitialised, or
writes garbage, fails (the double call under heap poisons sees uninitialised memory too)."""

from dataclasses import replace

import pytest
from hypothesis import assume, event, given
from hypothesis import strategies as st

from conv_oracle import strategies as cs
from conv_oracle.checks import properties
from conv_oracle.definition.dtypes import FLOAT_DTYPES
from conv_oracle.targets.execution import supports

pytestmark = pytest.mark.differential


@pytest.mark.parametrize("wrt", ["none", "weight", "bias"])
@given(case=cs.cases(padding_modes=False, output_size=False), dtype=st.sampled_from(list(FLOAT_DTYPES)),
       seed=st.integers(0, 2**32 - 1), w_layout=cs.layouts())
def test_empty_batch(target, record, wrt, case, dtype, seed, w_layout):
    """Forward (wrt none): the empty output's shape and dtype; weight / bias: a gradient of exactly 0."""
    assume(not target.unsupported(dtype, autograd=wrt != "none"))
    case = replace(case, batch=0, bias=case.bias or wrt == "bias")
    assume(supports(target, case) is None)
    event(f"dtype={dtype}")
    ops = cs.make_operands(case, "exact", seed, 3)
    prop = "forward_empty_batch" if wrt == "none" else f"gradient_{wrt}"
    with record(prop, target, case, dtype=dtype, mode="exact", w_layout=w_layout, seed=seed) as rec:
        if wrt == "none":
            rec.update(properties.forward(target, case, ops, dtype, "contiguous", w_layout))
        else:
            rec.update(properties.gradients(target, case, ops, dtype, wrt, "contiguous", w_layout))
