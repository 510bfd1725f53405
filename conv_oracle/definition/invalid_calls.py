"""Invalid calls: the one table of the rules torch enforces, each with how to break it (no Hypothesis).

Each :class:`InvalidRule` turns a valid base case into a call that breaks it, ``make(base, **choice)
-> (case, shape_fault)``. ``choices`` lists the values of each argument: the strategies
(:func:`conv_oracle.strategies.invalid_cases`) draw them, and the baseline corpus
(:mod:`conv_oracle.baseline.corpus`) takes the fixed picks in ``corpus``, one list per corpus base.
A value given as ``{op: values}`` depends on the operator.

:data:`TORCH_WORDING` says how torch words each rule's rejection, and :func:`named_rules` reads a
message with it (error parity compares the reason of targets whose messages are torch's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Callable

from . import geometry
from .case import OPS, Case
from .params import per_dim

BOTH = OPS


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


# ---- how each rule is broken -------------------------------------------------------------------

def _rest(c: Case) -> tuple[int, ...]:
    return (0,) * (c.nd - 1)


def _conv_output_too_small(c, delta):
    """The first kernel axis ``delta`` longer than the unpadded input."""
    return replace(c, kernel_size=(c.input_size[0] + delta,) + c.kernel_size[1:], padding=0, dilation=1), {}


def _transposed_output_too_small(c, extra):
    """Input length 1 and ``2p >= E``: the output length ``E - 2p`` is below 1."""
    E = geometry.effective_kernel(c.kernel_size[0], per_dim("dilation", c.dilation, c.nd)[0])
    p0 = (E + 1) // 2 + extra
    return replace(c, input_size=(1,) + c.input_size[1:], padding=(p0,) + per_dim("padding", c.padding, c.nd)[1:],
                   output_padding=0), {}


def _output_padding_too_large(c, extra):
    s, d = per_dim("stride", c.stride, c.nd), per_dim("dilation", c.dilation, c.nd)
    return replace(c, output_padding=(max(s[0], d[0]) + extra,) + _rest(c)), {}


def _negative(param):
    def make(c, value):
        return replace(c, **{param: (value,) + _rest(c)}), {}
    return make


def _non_positive(param):
    def make(c, value):
        if param == "groups":
            return replace(c, groups=value), {}
        return replace(c, **{param: (1,) * (c.nd - 1) + (value,)}), {}
    return make


def _channels_not_divisible(c, g, per_group, remainder, out_per_group):
    """``in_channels = g * per_group + r`` with ``0 < r < g``."""
    return replace(c, groups=g, in_channels=g * per_group + min(remainder, g - 1), out_channels=g * out_per_group), {}


def _shape_fault(fault):
    def make(c, value):
        return c, {fault: value}
    return make


def _same_with_stride(c, stride):
    return replace(c, padding="same", stride=(stride,) + (1,) * (c.nd - 1)), {}


def _bad_padding_string(c, word):
    return replace(c, padding=word), {}


def _bad_output_size(c, how, by=0):
    """A size below / above ``[min, min + stride - 1]`` on the first axis, or a wrong length
    (``long``: nd + 3 sizes; ``short``: nd + 1 (batched) or nd + 2 (unbatched), neither nd nor the rank)."""
    c = replace(c, padding=0, output_padding=0)  # every size range then starts at >= 1
    cfg = c.config()
    lo, s = cfg.output_size, cfg.stride
    if how in ("long", "short"):
        extra = 3 if how == "long" else (1 if c.batch is not None else 2)
        return replace(c, output_size=lo + (lo[-1],) * extra), {}
    size0 = lo[0] - 1 - by if how == "below" else lo[0] + s[0] + by
    return replace(c, output_size=(size0,) + lo[1:]), {}


@dataclass(frozen=True)
class InvalidRule:
    """A rule torch enforces: the operators it applies to, how to break it and with which choices."""

    name: str
    ops: tuple[str, ...]
    make: Callable[..., tuple[Case, dict]]
    choices: dict = field(default_factory=dict)  #: argument -> values, or {op: values}
    corpus: tuple = ()  #: per corpus base: the list of choice dicts (or {op: list})
    module_only: bool = False  #: only nn.ConvTranspose*d (output_size) can express it

    def values(self, arg: str, op: str) -> tuple:
        v = self.choices[arg]
        return tuple(v[op] if isinstance(v, dict) else v)

    def corpus_picks(self, base_index: int, op: str) -> list[dict]:
        picks = self.corpus[base_index]
        return list(picks[op] if isinstance(picks, dict) else picks)

    def call(self, base: Case, **choice) -> InvalidCall:
        """``base`` with this rule broken as ``choice`` says."""
        case, fault = self.make(base, **choice)
        return apply_shape_fault(self.name, case, fault)


def _picks(arg, *per_base):
    """Corpus picks of one argument: one value per base."""
    return tuple([{arg: v}] for v in per_base)


_RULES = [
    InvalidRule("conv output size < 1", ("conv",), _conv_output_too_small, {"delta": (1, 2)}, _picks("delta", 1, 2)),
    InvalidRule("transposed output size < 1", ("conv_transpose",), _transposed_output_too_small,
                {"extra": (0, 1)}, _picks("extra", 0, 0)),
    InvalidRule("output_padding not smaller than stride or dilation", ("conv_transpose",), _output_padding_too_large,
                {"extra": (0, 1, 2)}, _picks("extra", 0, 1)),
    InvalidRule("negative padding", BOTH, _negative("padding"), {"value": (-1, -2, -3)}, _picks("value", -1, -2)),
    InvalidRule("negative output_padding", ("conv_transpose",), _negative("output_padding"),
                {"value": (-1, -2, -3)}, _picks("value", -1, -1)),
    InvalidRule("non-positive stride", BOTH, _non_positive("stride"), {"value": (0, -1, -2)}, _picks("value", 0, -1)),
    InvalidRule("non-positive dilation", BOTH, _non_positive("dilation"), {"value": (0, -1, -2)},
                _picks("value", 0, -1)),
    InvalidRule("non-positive groups", BOTH, _non_positive("groups"), {"value": (0, -1, -2)}, _picks("value", 0, -1)),
    InvalidRule("channels not divisible by groups", BOTH, _channels_not_divisible,
                {"g": (2, 3), "per_group": (1, 2), "remainder": (1, 2), "out_per_group": (1, 2)},
                ([dict(g=2, per_group=1, remainder=1, out_per_group=1)],
                 [dict(g=2, per_group=2, remainder=1, out_per_group=1)])),
    InvalidRule("weight channels mismatch", BOTH, _shape_fault("weight_in_delta"), {"value": (1, 2)},
                _picks("value", 1, 2)),
    InvalidRule("wrong bias shape", BOTH, _shape_fault("bias_delta"), {"value": (1, 2)}, _picks("value", 1, 2)),
    InvalidRule("wrong weight rank", BOTH, _shape_fault("weight_rank_delta"), {"value": (-1, 1)},
                _picks("value", -1, 1)),
    InvalidRule("wrong input rank", BOTH, _shape_fault("input_rank_delta"), {"value": (-1, 1)},
                _picks("value", -1, 1)),
    InvalidRule("padding='same' with stride > 1", ("conv",), _same_with_stride, {"stride": (2, 3, 4)},
                _picks("stride", 2, 3)),
    InvalidRule("bad padding string", BOTH, _bad_padding_string,
                {"word": {"conv": ("full", "SAME", "causal", ""),
                          "conv_transpose": ("full", "SAME", "causal", "", "same", "valid")}},
                ({"conv": [{"word": "full"}, {"word": "causal"}], "conv_transpose": [{"word": "same"}, {"word": "causal"}]},
                 {"conv": [{"word": "SAME"}], "conv_transpose": [{"word": "valid"}]})),
    InvalidRule("bad output_size", ("conv_transpose",), _bad_output_size,
                {"how": ("below", "above", "long", "short"), "by": (0, 1, 2)},
                ([dict(how="below"), dict(how="above"), dict(how="long")], [dict(how="below"), dict(how="above")]),
                module_only=True),
]

#: rule name -> :class:`InvalidRule`: the one table of invalid-call rules
INVALID_RULES = {r.name: r for r in _RULES}

#: every (rule, op) pair: one error-parity test each
INVALID_RULE_OPS = [(r.name, op) for r in _RULES for op in r.ops]


# ---- how torch words each rejection ------------------------------------------------------------

_RANK = frozenset({"wrong weight rank", "wrong input rank"})
_CHANNELS = frozenset({"channels not divisible by groups", "weight channels mismatch"})
_OUTPUT_SIZE = frozenset({"conv output size < 1", "transposed output size < 1"})

#: (pattern, the rules a message matching it may be rejecting): keywords of torch's messages, probed on
#: torch 2.13.0 for every rule, op and dtype (CPU, with and without oneDNN, and torch.compile). Wording
#: shared by several rules names them all. Others (oneDNN's "could not construct a memory descriptor")
#: name none.
TORCH_WORDING: tuple[tuple[re.Pattern, frozenset[str]], ...] = tuple(
    (re.compile(p, re.IGNORECASE), frozenset(r)) for p, r in (
    (r"kernel size can't be greater than actual input size", {"conv output size < 1"}),
    (r"output size is too small", _OUTPUT_SIZE),
    (r"output padding must be smaller than", {"output_padding not smaller than stride or dilation"}),
    (r"\bnegative padding\b", {"negative padding"}),
    (r"\bnegative output_?padding\b", {"negative output_padding"}),
    (r"non-positive stride|stride should be greater than zero", {"non-positive stride"}),
    (r"non-positive dilation|dilation should be greater than zero", {"non-positive dilation"}),
    (r"non-positive groups|groups to be greater than (0|zero)", {"non-positive groups"}),  # latter: compile's
    (r"expected input.* to have \d+ channels", _CHANNELS),
    (r"expected weight to be (divisible by|at least) \d+ at dimension", _CHANNELS),  # groups vs weight.shape[0]
    (r"expected bias to be \d+-dimensional", {"wrong bias shape"}),
    (r"weight should have at least \w+ dimensions", {"wrong weight rank"}),
    (r"expected \d+-dimensional input for \d+-dimensional weight", _RANK),
    (r"values to match the convolution dimensions", _RANK),
    (r"\(unbatched\) or \d+D \(batched\) input", {"wrong input rank"}),
    (r"padding='same' is not supported for strided", {"padding='same' with stride > 1"}),
    (r"invalid padding string", {"bad padding string"}),
    (r"argument 'padding'.* must be .*\bstr\b", {"bad padding string"}),
    (r"output_size must have \d+ or \d+ elements", {"bad output_size"}),
    (r"requested an output size of", {"bad output_size"}),
))


def named_rules(message: str) -> frozenset[str]:
    """The rules torch's wording in ``message`` names (every matching pattern's rules); empty when
    it names none (another release's wording, another backend's message)."""
    return frozenset().union(*(rules for pattern, rules in TORCH_WORDING if pattern.search(message)))
