"""Invalid configurations, one strategy per rule torch enforces (for the error-parity tests)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import strategies as st

from .. import geometry
from ..case import Case
from ..params import per_dim
from .cases import cases



def _base(draw, op):
    c = draw(cases(op=op, nd=draw(st.sampled_from([1, 2])), padding_modes=False, output_size=False))
    return replace(c, padding=c.config().padding_before if not isinstance(c.padding, str) else 0)


@st.composite
def _conv_output_too_small(draw, op):
    c = _base(draw, op)
    k = (c.input_size[0] + draw(st.integers(1, 2)),) + c.kernel_size[1:]
    return replace(c, kernel_size=k, padding=0, dilation=1)


@st.composite
def _transposed_output_too_small(draw, op):
    """Input length 1 and ``2p >= E``: the output length ``E - 2p`` is below 1."""
    c = _base(draw, op)
    d = per_dim("dilation", c.dilation, c.nd)
    E = geometry.effective_kernel(c.kernel_size[0], d[0])
    p0 = (E + 1) // 2 + draw(st.integers(0, 1))
    return replace(c, input_size=(1,) + c.input_size[1:], padding=(p0,) + per_dim("padding", c.padding, c.nd)[1:],
                   output_padding=0)


@st.composite
def _output_padding_too_large(draw, op):
    c = _base(draw, op)
    s, d = per_dim("stride", c.stride, c.nd), per_dim("dilation", c.dilation, c.nd)
    a = max(s[0], d[0]) + draw(st.integers(0, 2))
    return replace(c, output_padding=(a,) + (0,) * (c.nd - 1))


@st.composite
def _negative(draw, op, param):
    c = _base(draw, op)
    bad = draw(st.integers(-3, -1))
    return replace(c, **{param: (bad,) + (0,) * (c.nd - 1)})


@st.composite
def _non_positive(draw, op, param):
    c = _base(draw, op)
    bad = draw(st.integers(-2, 0))
    if param == "groups":
        return replace(c, groups=bad)
    return replace(c, **{param: (1,) * (c.nd - 1) + (bad,)})


@st.composite
def _channels_not_divisible(draw, op):
    c = _base(draw, op)
    g = draw(st.integers(2, 3))
    cin = g * draw(st.integers(1, 2)) + draw(st.integers(1, g - 1))
    return replace(c, groups=g, in_channels=cin, out_channels=g * draw(st.integers(1, 2)))


@st.composite
def _same_with_stride(draw, op):
    c = draw(cases(op=op, nd=draw(st.sampled_from([1, 2])), padding_modes=False))
    return replace(c, padding="same", stride=(draw(st.integers(2, 4)),) + (1,) * (c.nd - 1))


@st.composite
def _bad_padding_string(draw, op):
    c = _base(draw, op)
    words = ["full", "SAME", "causal", ""] + (["same", "valid"] if op == "conv_transpose" else [])
    return replace(c, padding=draw(st.sampled_from(words)))


@st.composite
def _bad_output_size(draw, op):
    c = replace(_base(draw, op), padding=0, output_padding=0)  # every size range then starts at >= 1
    cfg = c.config()
    lo, s = cfg.output_size, cfg.stride
    how = draw(st.sampled_from(["below", "above", "length"]))
    if how == "length":
        extra = draw(st.sampled_from([3, 1 if c.batch is not None else 2]))  # neither nd nor the full rank
        return replace(c, output_size=lo + (lo[-1],) * extra, output_padding=0)
    delta = -draw(st.integers(1, 2)) if how == "below" else s[0] + draw(st.integers(0, 2))
    return replace(c, output_size=(lo[0] + delta,) + lo[1:], output_padding=0)


@st.composite
def _shape_fault(draw, op, fault):
    return _base(draw, op), {fault: draw(st.sampled_from(_FAULT_VALUES[fault]))}


_FAULT_VALUES = {"weight_in_delta": [1, 2], "bias_delta": [1, 2], "weight_rank_delta": [-1, 1],
                 "input_rank_delta": [-1, 1]}
BOTH = ("conv", "conv_transpose")

#: rule name -> (operators it applies to, strategy factory taking ``op``)
INVALID_RULES = {
    "conv output size < 1": (("conv",), _conv_output_too_small),
    "transposed output size < 1": (("conv_transpose",), _transposed_output_too_small),
    "output_padding not smaller than stride or dilation": (("conv_transpose",), _output_padding_too_large),
    "negative padding": (BOTH, lambda op: _negative(op, "padding")),
    "negative output_padding": (("conv_transpose",), lambda op: _negative(op, "output_padding")),
    "non-positive stride": (BOTH, lambda op: _non_positive(op, "stride")),
    "non-positive dilation": (BOTH, lambda op: _non_positive(op, "dilation")),
    "non-positive groups": (BOTH, lambda op: _non_positive(op, "groups")),
    "channels not divisible by groups": (BOTH, _channels_not_divisible),
    "weight channels mismatch": (BOTH, lambda op: _shape_fault(op, "weight_in_delta")),
    "wrong bias shape": (BOTH, lambda op: _shape_fault(op, "bias_delta")),
    "wrong weight rank": (BOTH, lambda op: _shape_fault(op, "weight_rank_delta")),
    "wrong input rank": (BOTH, lambda op: _shape_fault(op, "input_rank_delta")),
    "padding='same' with stride > 1": (("conv",), _same_with_stride),
    "bad padding string": (BOTH, _bad_padding_string),
    "bad output_size": (("conv_transpose",), _bad_output_size),
}

#: every (rule, op) pair with a strategy: one error-parity test each
INVALID_RULE_OPS = [(rule, op) for rule, (ops, _) in INVALID_RULES.items() for op in ops]


class InvalidCall:
    """A call torch must reject: ``rule`` broken by ``case`` with these operand shapes."""

    def __init__(self, rule: str, case: Case, input_shape, weight_shape, bias_shape):
        self.rule, self.case = rule, case
        self.input_shape, self.weight_shape, self.bias_shape = input_shape, weight_shape, bias_shape

    def __repr__(self):
        return (f"InvalidCall(rule={self.rule!r}, case={self.case!r}, input_shape={self.input_shape}, "
                f"weight_shape={self.weight_shape}, bias_shape={self.bias_shape})")


def apply_shape_fault(rule: str, case: Case, pert: dict) -> InvalidCall:
    """``case`` as an :class:`InvalidCall` for ``rule``, with the operand shapes changed by ``pert``:
    ``weight_in_delta`` (channel axis), ``bias_delta``, ``weight_rank_delta``, ``input_rank_delta``."""
    x, w, b = case.input_shape, case.weight_shape, case.bias_shape
    nd = case.nd
    if pert.get("weight_in_delta"):  # the weight axis that must match the input's channels
        axis = 0 if case.transposed else 1
        w = w[:axis] + (w[axis] + pert["weight_in_delta"],) + w[axis + 1:]
    if pert.get("bias_delta"):
        b = (case.out_channels + pert["bias_delta"],)
    if pert.get("weight_rank_delta"):
        w = (1,) + w if pert["weight_rank_delta"] > 0 else w[:-1]
    if pert.get("input_rank_delta"):  # rank nd (no channel axis) or nd + 3: neither is accepted
        x = (1,) * (nd + 3 - len(x)) + x if pert["input_rank_delta"] > 0 else x[-nd:]
    return InvalidCall(rule, case, x, w, b)


def invalid_cases(rule: str | None = None, op: str | None = None) -> st.SearchStrategy[InvalidCall]:
    """Calls torch must reject, for one rule and operator (or any): see :data:`INVALID_RULES`."""
    pairs = [(r, o) for r, o in INVALID_RULE_OPS if (rule is None or r == rule) and (op is None or o == op)]
    if not pairs:
        raise ValueError(f"no invalid-call strategy for rule={rule!r}, op={op!r}")

    def build(r, o):
        return INVALID_RULES[r][1](o).map(lambda v, r=r: apply_shape_fault(r, *(v if isinstance(v, tuple) else (v, {}))))

    return st.one_of([build(r, o) for r, o in pairs])
