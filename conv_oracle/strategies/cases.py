"""Valid configurations by construction, memory layouts, and regime tagging."""

from __future__ import annotations

import collections
import functools
import itertools
import math
import os
import sys

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ..definition import geometry
from ..definition.case import OPS, Case
from ..machine.settings import settings
from ..targets.execution import LAYOUTS


def _limits(max_side, max_channels, max_batch):
    """The size bounds given, the settings' (:mod:`conv_oracle.machine.settings`) for those not given."""
    s = settings()
    return max_side or s.max_side, max_channels or s.max_channels, max_batch or s.max_batch


#: per-dimension stride relation to the effective kernel E: ">" (a gap: windows / kernel copies
#: apart), "=" (s == E) or "<" (overlap); ">" has weight 1/2, so more than half of all cases have a
#: gap in some dimension (1-D: 1/2, 2-D: 3/4, 3-D: 7/8) and every relation pattern stays common
RELATIONS = (">", ">", "=", "<")


@st.composite
def _dimension(draw, transposed: bool, rel: str, max_side: int, want_same: bool, mode: str):
    """One spatial dimension with stride relation ``rel`` to its effective kernel (ignored under
    'same' padding, which needs stride 1): (L, k, s, d, (p_before, p_after), a) valid by construction."""
    k = draw(st.integers(2 if rel == "<" and not want_same else 1, 4))
    d = draw(_DILATIONS) if k > 1 else 1
    E = geometry.effective_kernel(k, d)
    if want_same:
        s = 1
    elif rel == ">":
        s = draw(st.integers(E + 1, E + 4))
    elif rel == "=":
        s = E
    else:
        s = draw(st.integers(1, E - 1))
    if transposed:
        a_kind = draw(_OUTPUT_PADDING_KINDS)
        if a_kind == "lt_dilation" and rel == "<" and d > 1:
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


# The fixed choices, each built once (a list is not hashable, so Hypothesis would build and validate a new
# strategy for it at every draw); the draws are the same as with the literal lists.
_DILATIONS = st.sampled_from([1, 1, 1, 2, 3])
_OUTPUT_PADDING_KINDS = st.sampled_from(["zero", "zero", "lt_stride", "lt_dilation"])
_OPS = st.sampled_from(OPS)
_NDS = st.sampled_from([1, 2, 2, 3])
_MODES = st.sampled_from(["reflect", "replicate", "circular", "zeros", "zeros"])
_MODULE_MODES = st.sampled_from(["reflect", "replicate", "circular"])
_PAD_KINDS = st.sampled_from(["int", "int", "tuple", "valid", "same"])


@functools.lru_cache(maxsize=None)
def _pattern_of(nd: int) -> st.SearchStrategy:
    return st.sampled_from(_patterns(nd))


@functools.lru_cache(maxsize=None)
def _batch_of(max_batch: int) -> st.SearchStrategy:
    return st.sampled_from([None, 1, 2, max_batch])


@functools.lru_cache(maxsize=None)
def _dimension_of(transposed: bool, rel: str, max_side: int, want_same: bool, mode: str) -> st.SearchStrategy:
    """:func:`_dimension` built once per argument tuple: the same strategy, hence the same draws, without
    building and validating a new strategy object per dimension of every example."""
    return _dimension(transposed, rel, max_side, want_same, mode)


def _patterns(nd: int) -> list[tuple[str, ...]]:
    """Every per-dimension stride-relation pattern, each as often as :data:`RELATIONS` weights it."""
    return list(itertools.product(RELATIONS, repeat=nd))


def _check_choice(name, value, allowed):
    if value is not None and (isinstance(value, bool) or value not in allowed):
        raise InvalidArgument(f"{name}={value!r}: must be None or one of {list(allowed)}")


def _check_args(op, nd, flags: dict, limits: dict):
    _check_choice("op", op, OPS)
    _check_choice("nd", nd, (1, 2, 3))
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise InvalidArgument(f"{name}={value!r}: must be True or False")
    for name, value in limits.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise InvalidArgument(f"{name}={value!r}: must be None or a positive int")


def cases(op: str | None = None, nd: int | None = None, *, padding_modes: bool = True, output_size: bool = True,
          module_only: bool = False, untouched: bool = False, min_terms: int | None = None,
          max_side: int | None = None, max_channels: int | None = None,
          max_batch: int | None = None) -> st.SearchStrategy[Case]:
    """Valid cases for ``op`` ('conv' / 'conv_transpose' / None for both) in ``nd`` dims (None: 1-3).

    Arguments are checked when called (``InvalidArgument``, as ``hypothesis.extra.numpy``), not when drawn.
    ``padding_modes=False`` keeps ``padding_mode='zeros'`` and ``output_size=False`` never sets
    ``output_size``: both need ``nn`` modules, which plain functional targets cannot express.
    ``module_only=True`` draws only such cases (a non-'zeros' padding_mode, or an output_size).
    ``untouched=True`` draws only cases with at least one skipped input pixel (conv) or bias-only
    output cell (transposed conv): the checks that poison those cells need one.
    ``min_terms=n`` draws at least ``n`` input channels per group (never depthwise), so every output cell
    that any tap reaches sums at least ``n`` products, however few taps reach it: the long reductions
    blocked and brgemm kernels split, where a narrower accumulator shows.
    """
    _check_args(op, nd, dict(padding_modes=padding_modes, output_size=output_size, module_only=module_only,
                             untouched=untouched),
                dict(max_side=max_side, max_channels=max_channels, max_batch=max_batch, min_terms=min_terms))
    max_side, max_channels, max_batch = _limits(max_side, max_channels, max_batch)  # when built, not drawn
    drawn = _cases(op, nd, padding_modes=padding_modes, output_size=output_size, module_only=module_only,
                   max_side=max_side, max_channels=max_channels, max_batch=max_batch, min_terms=min_terms)
    # a filter, not a construction: about a third of draws have no such cell, well within Hypothesis' budget
    return drawn.filter(lambda c: bool(c.untouched_mask().any())) if untouched else drawn


@st.composite
def _cases(draw, op: str | None, nd: int | None, *, padding_modes: bool, output_size: bool, module_only: bool,
           max_side: int, max_channels: int, max_batch: int, min_terms: int | None = None) -> Case:
    """Valid cases for ``op`` ('conv' / 'conv_transpose' / None for both) in ``nd`` dims (None: 1-3).

    ``padding_modes=False`` keeps ``padding_mode='zeros'`` and ``output_size=False`` never sets
    ``output_size``: both need ``nn`` modules, which plain functional targets cannot express.
    ``module_only=True`` draws only such cases (a non-'zeros' padding_mode, or an output_size).
    """
    op = op or draw(_OPS)
    nd = nd or draw(_NDS)
    if nd == 3:
        max_side = max(1, max_side * 2 // 3)
    transposed = op == "conv_transpose"
    mode = "zeros"
    if not transposed and (padding_modes or module_only):
        mode = draw(_MODULE_MODES if module_only else _MODES)
    pad_kind = "int" if transposed else draw(_PAD_KINDS)
    want_same = pad_kind == "same"
    # the stride pattern is drawn as one choice, so that every pattern (e.g. a gap in dimension 1
    # only) gets its share of the examples however the other parameters are drawn
    pattern = draw(_pattern_of(nd))
    dims = [draw(_dimension_of(transposed, rel, max_side, want_same, mode)) for rel in pattern]
    if pad_kind == "valid":
        dims = [(max(L, geometry.effective_kernel(k, d)), k, s, d, (0, 0), a) for L, k, s, d, _, a in dims]
    L, k, s, d, pads, a = (tuple(col) for col in zip(*dims))
    groups = draw(st.integers(1, 3))
    depthwise = draw(st.booleans()) and groups > 1 and not min_terms
    cin_g = 1 if depthwise else draw(st.integers(1, max_channels))
    if min_terms:
        cin_g = min_terms + draw(st.integers(0, max_channels))
    cout_g = draw(st.integers(1, max_channels))
    batch = draw(_batch_of(max_batch))
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
    _check_choice("nd", nd, (1, 2, 3))
    return st.sampled_from([lay for lay in LAYOUTS if lay != "channels_last" or nd in (None, 2, 3)])


def tag_regimes(case: Case, layout: str | None = None) -> None:
    """Inside a Hypothesis test: ``event()`` per regime, then :func:`spread` over the cells where
    faults live. No ``target()``: hill-climbing on the stride gap spent ~40% of the examples
    mutating one configuration; cases() weights the regimes instead."""
    from hypothesis import event

    regimes = case.regimes()
    for key in ("op", "dims", "stride_vs_kernel", "stride_gt_kernel", "dilation", "groups", "padding",
                "padding_mode", "batch", "output_padding", "bias"):
        if key in regimes:
            event(f"{key}={regimes[key]}")
    spread(case, layout)


def cell(case: Case, layout: str | None = None) -> tuple:
    """The coverage cell of an example: op, dims, which dimensions have a stride gap, bias, layout."""
    rel = case.regimes()["stride_vs_kernel"]
    return case.op, case.nd, "".join("g" if r == ">" else "-" for r in rel), case.bias, layout


#: proposals rejected one after another before spread() gives in: Hypothesis may keep proposing one
#: cell, and its filter_too_much health check fails at 50 rejections among the first 10 examples
MAX_REJECTED_IN_A_ROW = 4
#: per test (pytest node id): accepted examples per cell, and the accepted examples themselves
_COVERAGE: dict[str, tuple[collections.Counter, set]] = {}
_REJECTED_IN_A_ROW: collections.Counter = collections.Counter()


def spread(case: Case, layout: str | None = None) -> None:
    """Coverage-guided choice: while Hypothesis generates, reject a new example whose :func:`cell`
    already holds at least the mean count of this test's cells (at most a few in a row).

    Hypothesis varies few choices per example (it extends novel prefixes minimally and mutates
    each new example up to five times), so a test's 60 examples fall into ~1/4 as many cells; a
    fault on 1-4% of configurations was then missed in about a third of runs. Only the generate
    phase is steered: explicit examples, replays and shrinking (which re-run earlier choices) are
    never rejected, so every failure reproduces."""
    if not _generating():
        return
    from hypothesis import event, reject

    test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
    counts, accepted = _COVERAGE.setdefault(test, (collections.Counter(), set()))
    key, where = (case, layout), cell(case, layout)
    if key in accepted:
        return
    mean = sum(counts.values()) / max(1, len(counts))
    rejected = _REJECTED_IN_A_ROW
    if counts[where] and counts[where] >= mean and rejected[test] < MAX_REJECTED_IN_A_ROW:
        rejected[test] += 1
        event("spread: rejected a proposal in an over-covered cell")
        reject()
    rejected[test] = 0
    counts[where] += 1
    accepted.add(key)


def _generating() -> bool:
    """Whether Hypothesis is in its generate phase (found on the calling runner; False if unknown)."""
    frame = sys._getframe(2)
    while frame is not None:
        runner = frame.f_locals.get("self")
        if type(runner).__name__ == "ConjectureRunner":
            return getattr(runner, "_current_phase", None) == "generate"
        frame = frame.f_back
    return False
