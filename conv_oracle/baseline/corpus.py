"""The baseline corpus: a fixed set of configurations, enumerated (no random draws), so that every
environment runs exactly the same cases.

* ``grid``: op x dims (1-3) x stride regime (smaller than / equal to / larger than the effective
  kernel) x dilation, four variants each; the variants rotate groups (none / grouped / depthwise),
  padding kinds, output_padding branches, batch (unbatched / 1 / 2), bias and memory layouts.
* ``extra``: what the grid's functional calls cannot hold: ``padding='same'`` (odd and even totals),
  ``'valid'``, reflect / replicate / circular padding modes, ``output_size``.
* ``historical``: every entry of :data:`~conv_oracle.definition.historical.HISTORICAL` and
  :data:`~conv_oracle.definition.historical.HISTORICAL_MODULES` (the suite's pinned ``@example``s).
* ``finding``: the configuration of each of the suite's own findings
  (:data:`~conv_oracle.definition.historical.FINDINGS`), with the operands that showed it (NaN / Inf).
* ``realistic``: a few layer-sized cases (channels 16-32, sides 16-128), where oneDNN picks other
  kernels than on the tiny grid cases, by size and by thread count.
* ``invalid``: calls torch must reject, two or more per (rule, op) of
  :data:`~conv_oracle.definition.invalid_calls.INVALID_RULES` (its ``corpus`` picks), including the two oneDNN deviations of torch 2.13.

Entries are identified by a hash of their content, so a baseline's case ids survive reordering.
Changing what the corpus holds is a change of :data:`CORPUS_VERSION`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from ..definition import geometry
from ..definition.case import OPS, Case
from ..definition.historical import FINDINGS, HISTORICAL, HISTORICAL_MODULES
from ..definition.invalid_calls import INVALID_RULE_OPS, INVALID_RULES, InvalidCall

CORPUS_VERSION = 2
#: the memory layouts this corpus version places operands in: every layout of the suite but ``strided``
#: (drawn by the suite since; adding it changes the corpus, so it waits for a version bump that
#: re-records the committed baselines)
CORPUS_LAYOUTS = ("contiguous", "channels_last", "sliced", "transposed", "expanded")

REGIMES = ("<", "=", ">")
VARIANTS = 4
KERNELS = (3, 2, 3)  # per spatial axis, so that 2-D and 3-D cases are not square


@dataclass(frozen=True)
class Entry:
    """One corpus item: a valid case, or (``rule`` set) an invalid call with explicit operand shapes."""

    source: str
    label: str
    case: Case
    x_layout: str = "contiguous"
    w_layout: str = "contiguous"
    rule: str | None = None
    input_shape: tuple[int, ...] | None = None
    weight_shape: tuple[int, ...] | None = None
    bias_shape: tuple[int, ...] | None = None
    operands: tuple | None = None  #: explicit (x, w) nested lists, for a finding's exact call

    @property
    def kind(self) -> str:
        return "invalid" if self.rule else "valid"

    def key(self) -> dict:
        """What identifies the entry (the label and source are names, not content)."""
        key = {"kind": self.kind, "case": self.case.to_dict(), "x_layout": self.x_layout, "w_layout": self.w_layout}
        if self.rule:
            key.update(rule=self.rule, input_shape=self.input_shape, weight_shape=self.weight_shape,
                       bias_shape=self.bias_shape)
        if self.operands is not None:
            key["operands"] = [repr(a) for a in self.operands]
        return key

    @property
    def id(self) -> str:
        text = json.dumps(self.key(), sort_keys=True, default=list)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def seed(self) -> int:
        """Operand seed, derived from the content: the same case gets the same values everywhere."""
        return int(self.id[:8], 16)

    def invalid_call(self) -> InvalidCall:
        return InvalidCall(self.rule, self.case, self.input_shape, self.weight_shape, self.bias_shape)


# ---- valid cases ------------------------------------------------------------------------------

def _stride(regime: str, E: int, axis: int) -> int:
    if regime == "<":
        return max(1, E // 2)
    if regime == "=":
        return E
    return E + 1 + axis  # gaps of 1..3 between windows / kernel copies


def _grid_case(op: str, nd: int, regime: str, dilated: bool, v: int, j: int) -> Case:
    """Variant ``v`` of grid cell ``j``: the secondary parameters rotate with ``v + j`` so that every
    value of each appears in every op / dims / regime."""
    transposed = op == "conv_transpose"
    r = v + j
    k = KERNELS[:nd]
    d = tuple(2 if dilated and (axis == 0 or v % 2) else 1 for axis in range(nd))
    E = [geometry.effective_kernel(kk, dd) for kk, dd in zip(k, d)]
    s = tuple(_stride(regime, e, axis) for axis, e in enumerate(E))
    groups_kind = ("no", "yes", "depthwise")[r % 3]
    if groups_kind == "no":
        groups, cin, cout = 1, 2, 3
    elif groups_kind == "yes":
        groups, cin, cout = 2, 4, 2
    else:
        groups, cin, cout = 3, 3, 6 if v % 2 else 3
    batch = (None, 1, 2)[(v + 2 * j) % 3]
    bias = (v + j) % 2 == 0
    if nd == 3:  # keep volumes small
        batch = batch and 1
    if transposed:
        L = tuple(2 + (axis + v) % 2 for axis in range(nd))
        pad = (0, 1)[(r // 2) % 2]
        opad_kind = ("none", "lt_stride", "lt_dilation")[r % 3]
        a = [0] * nd  # torch's two branches: a < stride, or stride <= a < dilation; on the first axis that has it
        for axis in range(nd):
            if opad_kind == "lt_stride" and s[axis] > 1:
                a[axis] = s[axis] - 1
                break
            if opad_kind == "lt_dilation" and d[axis] > s[axis]:
                a[axis] = s[axis]
                break
        opad = a[0] if len(set(a)) == 1 else tuple(a)
        return Case(op, nd, batch, cin, cout, groups, L, k, s if len(set(s)) > 1 else s[0], pad,
                    d if len(set(d)) > 1 else d[0], opad, None, "zeros", bias)
    L = tuple(e + ss + axis + 1 for axis, (e, ss) in enumerate(zip(E, s)))
    if nd == 3:
        L = tuple(min(x, 9) for x in L)
    pad_kind = ("zero", "int", "tuple")[(r // 3 + v) % 3]
    padding = 0 if pad_kind == "zero" else 1 if pad_kind == "int" else tuple((axis + v) % 3 for axis in range(nd))
    return Case(op, nd, batch, cin, cout, groups, L, k, s if len(set(s)) > 1 else s[0], padding,
                d if len(set(d)) > 1 else d[0], 0, None, "zeros", bias)


def grid() -> list[Entry]:
    entries = []
    j = 0
    for op in OPS:
        for nd in (1, 2, 3):
            for regime in REGIMES:
                for dilated in (False, True):
                    for v in range(VARIANTS):
                        case = _grid_case(op, nd, regime, dilated, v, j)
                        xl = CORPUS_LAYOUTS[(v + j) % len(CORPUS_LAYOUTS)]
                        wl = CORPUS_LAYOUTS[(2 * v + j + 1) % len(CORPUS_LAYOUTS)]
                        label = f"{case.fn_name} stride {regime} kernel{' dilated' if dilated else ''} #{v}"
                        entries.append(Entry("grid", label, case, xl, wl))
                    j += 1
    return entries


def extras() -> list[Entry]:
    """Padding strings, padding modes and output_size: beyond the grid's functional calls."""
    out = []
    for nd in (1, 2, 3):
        L = (7, 6, 5)[:nd]
        for k, d, what in ((2, 1, "even total"), (3, 2, "dilated")):
            case = Case("conv", nd, 2 if nd < 3 else 1, 2, 3, 1, L, (k,) * nd, 1, "same", d, bias=nd != 2)
            out.append(Entry("extra", f"conv{nd}d padding='same' ({what})", case))
        case = Case("conv", nd, None, 3, 3, 3, (8, 7, 6)[:nd], (2,) * nd, 3, "valid", 1, bias=True)
        out.append(Entry("extra", f"conv{nd}d padding='valid', stride > kernel, depthwise", case))
        for i, mode in enumerate(("reflect", "replicate", "circular")):
            stride = 1 if i == 0 else 4
            case = Case("conv", nd, 1 + i % 2, 2, 2, 1, (6, 5, 4)[:nd], (3, 2, 2)[:nd], stride,
                        (1, 2, 1)[:nd] if nd > 1 else 2, 1, padding_mode=mode, bias=i != 1)
            layout = "channels_last" if i == 2 else "contiguous"
            out.append(Entry("extra", f"conv{nd}d padding_mode={mode}", case, layout))
        # output_size at both ends of its range [min, min + stride - 1], stride > kernel
        L, k, s = (3, 2, 2)[:nd], (2,) * nd, (3, 4, 3)[:nd]
        lo = [geometry.conv_transpose_output_length(a, b, c) for a, b, c in zip(L, k, s)]
        for end, size in (("min", tuple(lo)), ("max", tuple(m + st - 1 for m, st in zip(lo, s)))):
            case = Case("conv_transpose", nd, 1, 2, 2, 1, L, k, s, 0, 1, 0, size, bias=True)
            out.append(Entry("extra", f"conv_transpose{nd}d output_size={end} of range", case))
    out.append(Entry("extra", "conv2d padding='same', reflect", Case("conv", 2, 1, 1, 2, 1, (5, 6), (3, 2), 1, "same",
                                                                    padding_mode="reflect")))
    return out


def historical() -> list[Entry]:
    return [Entry("historical", name, case, xl, wl)
            for name, (case, xl, wl) in (HISTORICAL | HISTORICAL_MODULES).items()]


_INF, _NAN = float("inf"), float("nan")
#: the operands (input, weight) that showed each finding (README, Findings), by FINDINGS name
FINDING_OPERANDS: dict[str, tuple] = {
    "oneDNN NaN in output_padding cells": ([[[[_INF]]], [[[_NAN]]]], [[[[1.0, 3.0, 0.0], [-_INF, 3.0, -_INF]]]]),
}


def findings() -> list[Entry]:
    """Each finding's configuration with the operands that showed it (bias-only cells must stay the bias)."""
    return [Entry("finding", name, case, xl, wl, operands=FINDING_OPERANDS.get(name))
            for name, (case, xl, wl) in FINDINGS.items()]


#: (label, case, x_layout): layer-sized work, where oneDNN chooses blocked / parallel kernels
REALISTIC = (
    ("conv2d 32->32 3x3 p1 on 28x28", Case("conv", 2, 1, 32, 32, 1, (28, 28), (3, 3), 1, 1, bias=True), "contiguous"),
    ("conv2d 16->32 3x3 s2 p1 on 32x32, channels_last",
     Case("conv", 2, 2, 16, 32, 1, (32, 32), (3, 3), 2, 1, bias=True), "channels_last"),
    ("conv2d depthwise 32 3x3 p1 on 28x28", Case("conv", 2, 1, 32, 32, 32, (28, 28), (3, 3), 1, 1, bias=True),
     "contiguous"),
    ("conv_transpose2d 32->16 4x4 s2 p1 on 16x16 (upsampling)",
     Case("conv_transpose", 2, 1, 32, 16, 1, (16, 16), (4, 4), 2, 1, bias=True), "contiguous"),
    ("conv_transpose2d 16->16 2x2 s4 on 16x16 (gaps)",
     Case("conv_transpose", 2, 1, 16, 16, 1, (16, 16), (2, 2), 4, 0, bias=True), "contiguous"),
    ("conv1d 16->32 k5 p2 on 128", Case("conv", 1, 2, 16, 32, 1, (128,), (5,), 1, 2, bias=True), "contiguous"),
    ("conv3d 8->8 3x3x3 p1 on 8x8x8", Case("conv", 3, 1, 8, 8, 1, (8, 8, 8), (3, 3, 3), 1, 1, bias=True),
     "contiguous"),
)


def realistic() -> list[Entry]:
    return [Entry("realistic", label, case, xl) for label, case, xl in REALISTIC]


# ---- invalid calls ----------------------------------------------------------------------------

def _bases(op: str) -> list[Case]:
    """Valid starting points that the rules break: a 1-D batched case and a 2-D grouped one."""
    pad = 1 if op == "conv" else 0
    return [Case(op, 1, 2, 2, 2, 1, (7,), (3,), 2, pad, 1, bias=True),
            Case(op, 2, 1, 2, 4, 2, (5, 6), (2, 3), (3, 1), (0, 1), 1, bias=True)]


#: the two oneDNN deviations of torch 2.13 (conv_oracle/suite/known_deviations.toml), as exact calls
KNOWN_DEVIATIONS = [
    ("transposed output size < 1", "oneDNN: transposed output length exactly 0",
     Case("conv_transpose", 1, 2, 1, 1, 1, (1,), (2,), 1, 1, bias=False)),
    ("non-positive dilation", "oneDNN: dilation 0 with kernel 4 and stride 5",
     Case("conv_transpose", 2, 1, 1, 1, 1, (1, 1), (4, 4), 5, 0, (1, 0), bias=False)),
]


def invalid() -> list[Entry]:
    out = []
    for rule, op in INVALID_RULE_OPS:
        for i, base in enumerate(_bases(op)):
            for n, choice in enumerate(INVALID_RULES[rule].corpus_picks(i, op)):
                call = INVALID_RULES[rule].call(base, **choice)
                case = call.case
                out.append(Entry("invalid", f"{op}: {rule} ({base.nd}-D #{n})", case, rule=rule,
                                 input_shape=call.input_shape, weight_shape=call.weight_shape,
                                 bias_shape=call.bias_shape))
    for rule, label, case in KNOWN_DEVIATIONS:
        out.append(Entry("invalid", label, case, rule=rule, input_shape=case.input_shape,
                         weight_shape=case.weight_shape, bias_shape=case.bias_shape))
    return out


def build() -> list[Entry]:
    """The whole corpus, in a fixed order; raises if two entries share an id."""
    entries = grid() + extras() + historical() + findings() + realistic() + invalid()
    ids = [e.id for e in entries]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise AssertionError(f"corpus entries with the same content: {dup}")
    return entries


def digest(entries: list[Entry]) -> str:
    """One hash over the entries' ids, in order: equal digests mean the same corpus."""
    return hashlib.sha256(" ".join(e.id for e in entries).encode()).hexdigest()[:16]
