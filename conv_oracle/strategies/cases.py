"""Valid configurations by construction, memory layouts, and regime tagging."""

from __future__ import annotations

import math
import os

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from .. import geometry
from ..case import Case
from ..execution import LAYOUTS
from ..params import per_dim


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


def _check_choice(name, value, allowed):
    if value is not None and (isinstance(value, bool) or value not in allowed):
        raise InvalidArgument(f"{name}={value!r}: must be None or one of {list(allowed)}")


def _check_args(op, nd, flags: dict, limits: dict):
    _check_choice("op", op, ("conv", "conv_transpose"))
    _check_choice("nd", nd, (1, 2, 3))
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise InvalidArgument(f"{name}={value!r}: must be True or False")
    for name, value in limits.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise InvalidArgument(f"{name}={value!r}: must be None or a positive int")


def cases(op: str | None = None, nd: int | None = None, *, padding_modes: bool = True, output_size: bool = True,
          module_only: bool = False, max_side: int | None = None, max_channels: int | None = None,
          max_batch: int | None = None) -> st.SearchStrategy[Case]:
    """Valid cases for ``op`` ('conv' / 'conv_transpose' / None for both) in ``nd`` dims (None: 1-3).

    Arguments are checked when called (``InvalidArgument``, as ``hypothesis.extra.numpy``), not when drawn.
    ``padding_modes=False`` keeps ``padding_mode='zeros'`` and ``output_size=False`` never sets
    ``output_size``: both need ``nn`` modules, which plain functional targets cannot express.
    ``module_only=True`` draws only such cases (a non-'zeros' padding_mode, or an output_size).
    """
    _check_args(op, nd, dict(padding_modes=padding_modes, output_size=output_size, module_only=module_only),
                dict(max_side=max_side, max_channels=max_channels, max_batch=max_batch))
    return _cases(op, nd, padding_modes=padding_modes, output_size=output_size, module_only=module_only,
                  max_side=max_side, max_channels=max_channels, max_batch=max_batch)


@st.composite
def _cases(draw, op: str | None = None, nd: int | None = None, *, padding_modes: bool = True,
           output_size: bool = True, module_only: bool = False, max_side: int | None = None,
           max_channels: int | None = None, max_batch: int | None = None) -> Case:
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
    _check_choice("nd", nd, (1, 2, 3))
    return st.sampled_from([lay for lay in LAYOUTS if lay != "channels_last" or nd in (None, 2, 3)])


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
