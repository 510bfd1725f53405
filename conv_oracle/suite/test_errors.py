"""Property 6: every invalid configuration is rejected by the target and by the oracle, in every
dtype the target supports (drawn per example: rejection rarely depends on the dtype, so one test per
rule and operator spends its budget across dtypes instead of multiplying it)."""

import re

import pytest
from hypothesis import assume, event, given
from hypothesis import strategies as st

from conv_oracle import strategies as cs
from conv_oracle.checks import properties
from conv_oracle.targets.execution import supports

pytestmark = pytest.mark.differential

MODULE_ONLY_RULES = {name for name, rule in cs.INVALID_RULES.items() if rule.module_only}


def _id(rule: str, op: str) -> str:
    return f"{op}-" + re.sub(r"[^A-Za-z0-9<>=_]+", "_", rule).strip("_")


@pytest.mark.parametrize("rule, op", cs.INVALID_RULE_OPS, ids=[_id(r, o) for r, o in cs.INVALID_RULE_OPS])
@given(data=st.data())
def test_error_parity(target, record, rule, op, data):
    """Both raise; a target that returns a tensor for an invalid call fails with the oracle's reason."""
    if rule in MODULE_ONLY_RULES and not target.modules and "output_size" not in target.capability.options:
        pytest.skip(f"{rule}: only nn.ConvTranspose*d takes output_size")
    call = data.draw(cs.invalid_cases(rule, op), label="call")
    assume(supports(target, call.case) is None)
    dtype = data.draw(st.sampled_from(target.dtypes), label="dtype")
    event(f"dtype={dtype}")
    with record("error_parity", target, call.case, dtype=dtype, rule=rule) as rec:
        rec.update(properties.error_parity(target, call, dtype))
