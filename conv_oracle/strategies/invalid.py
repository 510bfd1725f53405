"""Invalid configurations, one strategy per rule torch enforces (for the error-parity tests).

The rules and how each is broken live in :data:`conv_oracle.definition.invalid_calls.INVALID_RULES` (shared with
the baseline corpus); this module only draws a valid base case and the rule's choices."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ..definition.case import OPS
from ..definition.invalid_calls import INVALID_RULE_OPS, INVALID_RULES, InvalidCall, apply_shape_fault
from .cases import cases

__all__ = ["invalid_cases", "INVALID_RULES", "INVALID_RULE_OPS", "InvalidCall", "apply_shape_fault"]


def integer_padding(c):
    """``c`` (valid) with its padding as integers, still valid, so that a rule's change breaks that rule alone:
    'same' pads with its larger side in both directions (its smaller side, or 0, could leave an output length
    below 1, and the call would break "conv output size < 1" too, which torch may name instead), 'valid' with 0."""
    return replace(c, padding=tuple(max(side) for side in c.config().padding))


def _base(draw, op):
    return integer_padding(draw(cases(op=op, nd=draw(st.sampled_from([1, 2])), padding_modes=False,
                                      output_size=False)))


@st.composite
def _rule_calls(draw, rule, op):
    base = _base(draw, op)
    choice = {arg: draw(st.sampled_from(rule.values(arg, op))) for arg in rule.choices}
    return rule.call(base, **choice)


def invalid_cases(rule: str | None = None, op: str | None = None) -> st.SearchStrategy[InvalidCall]:
    """Calls torch must reject, for one rule and operator (or any): see :data:`INVALID_RULES`."""
    if rule is not None and rule not in INVALID_RULES:
        raise InvalidArgument(f"rule={rule!r}: unknown rule; known: {sorted(INVALID_RULES)}")
    if op is not None and op not in OPS:
        raise InvalidArgument(f"op={op!r}: must be None, 'conv' or 'conv_transpose'")
    pairs = [(r, o) for r, o in INVALID_RULE_OPS if (rule is None or r == rule) and (op is None or o == op)]
    if not pairs:
        raise InvalidArgument(f"rule={rule!r}, op={op!r}: the rule does not apply to this operator")
    return st.one_of([_rule_calls(INVALID_RULES[r], o) for r, o in pairs])
