"""Hypothesis strategies for convolution property tests (public; import them into your own suite).

* :func:`cases` draws valid :class:`~conv_oracle.case.Case` objects by construction (no filtering),
  weighted so that more than half have a stride larger than the effective kernel in some dimension,
  while equal and smaller strides, dilation holes and tail remainders stay common.
* :func:`operands` draws input / weight / bias arrays: ``"exact"`` mode uses small integers sized so
  every partial sum is exact in the dtype under test; ``"float"`` mode ordinary random values.
* :func:`layouts` draws memory layouts; :func:`invalid_cases` draws one configuration per rule torch
  enforces, with the rule's name.

Sizes are bounded by ``CONV_ORACLE_MAX_SIDE`` (spatial length, default 9), ``CONV_ORACLE_MAX_CHANNELS``
(channels per group, default 3) and ``CONV_ORACLE_MAX_BATCH`` (default 3).
"""

from __future__ import annotations

import math
import os
from dataclasses import replace

import numpy as np
from hypothesis import strategies as st

from . import geometry
from .case import Case
from .params import per_dim

__all__ = ["cases", "operands", "layouts", "invalid_cases", "LAYOUTS", "exact_magnitude", "INVALID_RULES", "tag_regimes",
           "Operands", "InvalidCall", "make_operands", "INVALID_RULE_OPS"]

LAYOUTS = ("contiguous", "channels_last", "sliced", "transposed", "expanded")
MANTISSA_BITS = {"float64": 53, "float32": 24, "float16": 11, "bfloat16": 8, "tf32": 11}


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _limits(max_side, max_channels, max_batch):
    return (max_side or _env_int("CONV_ORACLE_MAX_SIDE", 9),
            max_channels or _env_int("CONV_ORACLE_MAX_CHANNELS", 3),
            max_batch or _env_int("CONV_ORACLE_MAX_BATCH", 3))


@st.composite
def _dimension(draw, transposed: bool, featured: bool, max_side: int, want_same: bool, mode: str):
    """One spatial dimension: (L, k, s, d, (p_before, p_after), a) valid by construction."""
    k = draw(st.integers(1, 4))
    d = draw(st.sampled_from([1, 1, 1, 2, 3])) if k > 1 else 1
    E = geometry.effective_kernel(k, d)
    if want_same:
        s = 1
    elif featured:  # the featured regime: gaps between windows / kernel copies
        s = draw(st.integers(E + 1, E + 4))
    else:
        s = draw(st.sampled_from(["equal", "smaller", "any"]))
        s = E if s == "equal" else draw(st.integers(1, max(1, E - 1))) if s == "smaller" else draw(st.integers(1, 6))
    if transposed:
        a_kind = draw(st.sampled_from(["zero", "zero", "lt_stride", "lt_dilation"]))
        if a_kind == "lt_dilation" and not featured and d > 1:
            s = draw(st.integers(1, d - 1))  # room for torch's second branch: stride <= a < dilation
        L = draw(st.integers(1, max(1, max_side // max(1, s))))
        a = 0
        if a_kind == "lt_stride" and s > 1:
            a = draw(st.integers(1, s - 1))
        elif a_kind == "lt_dilation" and d > s:
            a = draw(st.integers(s, d - 1))  # torch's other branch: >= stride but < dilation
        p_max = ((L - 1) * s + E + a - 1) // 2  # keeps the output length >= 1
        p = draw(st.integers(0, max(0, min(p_max, E + 1))))
        return L, k, s, d, (p, p), a
    if want_same:
        pb, pa = geometry.resolve_padding("same", (k,), (d,))[0]
        lo = max(1, E if mode != "zeros" else 1, pa + 1 if mode == "reflect" else 1)
        L = draw(st.integers(lo, max(lo, max_side)))
        return L, k, s, d, (pb, pa), 0
    L = draw(st.integers(1, max_side))
    p_lo = max(0, math.ceil((E - L) / 2))
    p_hi = p_lo + 3
    if mode == "reflect":
        p_hi = min(p_hi, L - 1)
    elif mode == "circular":
        p_hi = min(p_hi, L)
    if p_hi < p_lo:  # the mode's padding limit leaves no room: grow the input to the kernel
        L = max(L, E)
        p_lo, p_hi = 0, min(p_hi, 0) if mode != "reflect" else 0
    p = draw(st.integers(p_lo, max(p_lo, p_hi)))
    return L, k, s, d, (p, p), 0


@st.composite
def cases(draw, op: str | None = None, nd: int | None = None, *, padding_modes: bool = True,
          output_size: bool = True, module_only: bool = False, max_side: int | None = None, max_channels: int | None = None,
          max_batch: int | None = None) -> Case:
    """Valid cases for ``op`` ('conv' / 'conv_transpose' / None for both) in ``nd`` dims (None: 1-3).

    ``padding_modes=False`` keeps ``padding_mode='zeros'`` and ``output_size=False`` never sets
    ``output_size``: both need ``nn`` modules, which plain functional targets cannot express.
    ``module_only=True`` draws only such cases (a non-'zeros' padding_mode, or an output_size).
    """
    max_side, max_channels, max_batch = _limits(max_side, max_channels, max_batch)
    op = op or draw(st.sampled_from(["conv", "conv_transpose"]))
    nd = nd or draw(st.sampled_from([1, 2, 2, 3]))
    if nd == 3:
        max_side = max(1, max_side * 2 // 3)
    transposed = op == "conv_transpose"
    mode = "zeros"
    if not transposed and (padding_modes or module_only):
        modes = ["reflect", "replicate", "circular"] + ([] if module_only else ["zeros", "zeros"])
        mode = draw(st.sampled_from(modes))
    pad_kind = "int" if transposed else draw(st.sampled_from(["int", "int", "tuple", "valid", "same"]))
    want_same = pad_kind == "same"
    featured = (not want_same) and draw(st.integers(0, 99)) < 60
    featured_dim = draw(st.integers(0, nd - 1))
    dims = [draw(_dimension(transposed, featured and i == featured_dim, max_side, want_same, mode))
            for i in range(nd)]
    if pad_kind == "valid":
        dims = [(max(L, geometry.effective_kernel(k, d)), k, s, d, (0, 0), a) for L, k, s, d, _, a in dims]
    L, k, s, d, pads, a = (tuple(col) for col in zip(*dims))
    groups = draw(st.integers(1, 3))
    depthwise = draw(st.booleans()) and groups > 1
    cin_g = 1 if depthwise else draw(st.integers(1, max_channels))
    cout_g = draw(st.integers(1, max_channels))
    batch = draw(st.sampled_from([None, 1, 2, max_batch]))
    stride = s[0] if len(set(s)) == 1 and draw(st.booleans()) else s
    dilation = d[0] if len(set(d)) == 1 and draw(st.booleans()) else d
    before = tuple(p for p, _ in pads)
    if pad_kind in ("valid", "same"):
        padding = pad_kind
    elif pad_kind == "tuple" or len(set(before)) > 1:
        padding = before
    else:
        padding = before[0]
    opad, osize = 0, None
    if transposed:
        opad = a if len(set(a)) > 1 else a[0]
        if module_only or (output_size and draw(st.integers(0, 4)) == 0):
            if not all(geometry.conv_transpose_output_length(*v, 0, dd) + ss - 1 >= 1
                       for v, dd, ss in zip(zip(L, k, s, before), d, s)):
                before, padding = (0,) * nd, 0  # some size range lies below 1: unpadded ranges never do
            lo = [geometry.conv_transpose_output_length(*v, 0, dd) for v, dd in zip(zip(L, k, s, before), d)]
            osize = tuple(draw(st.integers(max(1, m), m + ss - 1)) for m, ss in zip(lo, s))
            opad = 0
    return Case(op, nd, batch, cin_g * groups, cout_g * groups, groups, L, k, stride, padding, dilation, opad,
                osize, mode, draw(st.booleans()))


def layouts(nd: int | None = None) -> st.SearchStrategy[str]:
    """Memory layouts: contiguous, channels_last (2-D/3-D ops), sliced, transposed, expanded views."""
    return st.sampled_from([lay for lay in LAYOUTS if lay != "channels_last" or nd in (None, 2, 3)])


def exact_magnitude(case: Case, dtype: str, gradients: bool = False) -> int:
    """Largest integer ``m`` such that with every operand in ``[-m, m]`` each partial sum (forward,
    and the three gradients if asked) stays below ``2**mantissa``: results are then exact in
    any summation order. 0 when even ``m = 1`` cannot guarantee it."""
    cfg = case.config()
    taps = math.prod(cfg.kernel_size)
    fwd_terms = (cfg.in_channels // cfg.groups) * taps + 1
    counts = [fwd_terms]
    if gradients:
        n = cfg.batch
        copies = 1  # padding copies of one input pixel (reflect / replicate / circular) add up in its gradient
        if cfg.padding_mode != "zeros":
            copies = math.prod(1 + pb + pa for pb, pa in cfg.padding)
        counts.append((cfg.out_channels // cfg.groups) * taps * copies)  # grad_input
        counts.append(n * math.prod(cfg.input_size if case.transposed else cfg.output_size))  # grad_weight
        counts.append(n * math.prod(cfg.output_size))  # grad_bias
    limit = 2 ** MANTISSA_BITS[dtype]
    m = math.isqrt(limit // max(counts))
    if dtype in ("float16", "bfloat16", "tf32"):  # the operands themselves must be representable
        m = min(m, 2 ** MANTISSA_BITS[dtype])
    return m if m >= 1 else 0


class Operands:
    """Input, weight and bias values (numpy float64 holding dtype-representable numbers)."""

    def __init__(self, x, w, b, mode: str, magnitude: float, seed: int):
        self.x, self.w, self.b, self.mode, self.magnitude, self.seed = x, w, b, mode, magnitude, seed

    def __repr__(self):
        return f"Operands(mode={self.mode!r}, magnitude={self.magnitude}, seed={self.seed})"


def make_operands(case: Case, mode: str, seed: int, magnitude: int = 3, layout: str = "contiguous") -> Operands:
    """Deterministic operands for ``case`` from ``seed`` (also used outside Hypothesis: snapshots, explain).

    ``layout='expanded'`` makes the batch (input) and output-channel (weight) axes copies of their
    first slice, so that the target can be given broadcast views of the same values."""
    rng = np.random.default_rng(seed)

    def draw(shape):
        if mode == "exact":
            return rng.integers(-magnitude, magnitude + 1, size=shape).astype(np.float64)
        return rng.uniform(-1.0, 1.0, size=shape)

    x, w = draw(case.input_shape), draw(case.weight_shape)
    if layout == "expanded":
        if case.batch is not None:
            x = np.broadcast_to(x[:1], x.shape).copy()
        w = np.broadcast_to(w[:1], w.shape).copy()
    b = draw(case.bias_shape) if case.bias else None
    return Operands(x, w, b, mode, magnitude, seed)


@st.composite
def operands(draw, case: Case, mode: str = "exact", dtype: str = "float32", layout: str = "contiguous",
             gradients: bool = False) -> Operands:
    """Operands for ``case``. In exact mode, values are integers in ``[-m, m]`` with
    ``m = min(3, exact_magnitude(case, dtype))``; if no ``m`` keeps ``dtype`` exact, ``float`` values
    are drawn instead and ``mode`` says so."""
    if mode == "exact":
        m = min(3, exact_magnitude(case, dtype, gradients))
        if m == 0:
            mode = "float"
    seed = draw(st.integers(0, 2**32 - 1))
    return make_operands(case, mode, seed, m if mode == "exact" else 1, layout)


# ---- invalid configurations, one strategy per rule ------------------------------------------------

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


def _apply(rule: str, case: Case, pert: dict) -> InvalidCall:
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
        return INVALID_RULES[r][1](o).map(lambda v, r=r: _apply(r, *(v if isinstance(v, tuple) else (v, {}))))

    return st.one_of([build(r, o) for r, o in pairs])


def tag_regimes(case: Case) -> None:
    """Inside a Hypothesis test: ``event()`` per regime, and ``target()`` toward large stride gaps."""
    from hypothesis import event, target

    regimes = case.regimes()
    for key in ("op", "dims", "stride_vs_kernel", "stride_gt_kernel", "dilation", "groups", "padding",
                "padding_mode", "batch", "output_padding"):
        if key in regimes:
            event(f"{key}={regimes[key]}")
    strides, dil = per_dim("stride", case.stride, case.nd), per_dim("dilation", case.dilation, case.nd)
    gap = max(s - geometry.effective_kernel(k, d) for s, k, d in zip(strides, case.kernel_size, dil))
    target(float(gap), label="stride minus effective kernel")
