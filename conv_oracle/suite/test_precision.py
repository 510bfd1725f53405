"""Precision probes: exact mode that sees operand rounding and narrower accumulation.

Small-integer exact operands are representable in every narrower format, so a float32 target that
rounds its operands to TF32 or bfloat16 (or a float64 target computing in float32) passes them.
Probe operands (:mod:`conv_oracle.checks.operands`) need more mantissa bits than the widest narrower
format while every partial sum stays exact in the claimed dtype: such a target differs bit for bit,
at any number of terms. Runs for every dtype with a narrower format (float64, float32, float16).
"""

import pytest
from hypothesis import assume, event, given, note
from hypothesis import strategies as st

from conv_oracle import strategies as cs
from conv_oracle.checks import properties
from conv_oracle.checks.operands import exactness, formats_with_bits, make_probe_operands, probe_format
from conv_oracle.definition.dtypes import FLOAT_DTYPES
from conv_oracle.definition.dtypes import mantissa_bits
from conv_oracle.harness.records import Verdict
from conv_oracle.strategies.historical import pinned
from conv_oracle.targets.execution import supports

pytestmark = pytest.mark.differential

PROBED = [d for d in FLOAT_DTYPES if probe_format(d)]  # float32, float64, float16 (nothing is narrower than bfloat16)


@pytest.mark.parametrize("dtype", PROBED)
@pinned(seed=0)
@given(case=cs.cases(padding_modes=False, output_size=False), seed=st.integers(0, 2**32 - 1),
       x_layout=cs.layouts(), w_layout=cs.layouts())
def test_forward_precision_probe(target, record, dtype, case, seed, x_layout, w_layout):
    """Probe operands: bit for bit, or the target computes ``dtype`` with fewer mantissa bits."""
    if dtype not in target.dtypes:
        pytest.skip(f"{target.name} does not support {dtype}")
    assume(supports(target, case) is None)
    cs.tag_regimes(case)
    policy = exactness(case, dtype, target)
    # probe values are drawn per element: 'expanded' (broadcast copies) would need equal slices
    x_layout, w_layout = (lay if lay != "expanded" else "contiguous" for lay in (x_layout, w_layout))
    with record("forward_probe", target, case, dtype=dtype, mode="probe", x_layout=x_layout,
                w_layout=w_layout, seed=seed) as rec:
        ops = make_probe_operands(case, policy.claimed, policy.probe, seed) if policy.probe else None
        if ops is None:
            event("probe not checkable")
            rec.update(verdict=Verdict.NOT_CHECKABLE, refused=policy.reason or "no draw can show the rounding")
            return
        note(f"operands: {ops!r}")
        event(f"probe {policy.claimed} against {'/'.join(formats_with_bits(mantissa_bits(ops.probe)))}, wide {ops.wide}")
        rec.update(properties.forward(target, case, ops, dtype, x_layout, w_layout))
