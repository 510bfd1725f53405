"""Cases inside one row of the 3-way covering array (:mod:`conv_oracle.definition.features`): the row
fixes every discrete feature, Hypothesis draws the rest (sizes, kernel, stride, padding, dilation
values, channels) so that :func:`~conv_oracle.definition.features.features_of` gives the row back."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ..definition import geometry
from ..definition.case import Case
from ..definition.features import FEATURES, allowed

_CHANNELS = {"1": (1, 1), "2-15": (2, 15), "16-32": (16, 32)}


def cases_in(row: dict) -> st.SearchStrategy[tuple[Case, str, str, str]]:
    """``(case, dtype, x_layout, w_layout)`` showing exactly ``row``'s levels (checked when called; the
    row's ``wrt`` is the caller's: which check it runs on the case)."""
    missing = [f for f in FEATURES if f not in row]
    wrong = [f"{f}={row[f]!r}" for f in FEATURES if f in row and row[f] not in FEATURES[f]]
    if missing or wrong or not allowed(row):
        raise InvalidArgument(f"row={row!r}: needs every feature of {list(FEATURES)} at one of its levels, "
                              f"in a combination a valid example can show (missing {missing}, wrong {wrong})")
    return _cases_in(dict(row))


@st.composite
def _cases_in(draw, row: dict):
    nd, transposed = row["nd"], row["op"] == "conv_transpose"
    batch = {"unbatched": None, "1": 1, "2-3": draw(st.integers(2, 3))}[row["batch"]]
    groups = 1 if row["groups"] == "1" else draw(st.integers(2, 3))
    lo, hi = _CHANNELS[row["channels_per_group"]]
    cin_g = draw(st.integers(lo, hi))
    # an expanded weight needs two output channels or more (copies of the first)
    cout_g = draw(st.integers(2 if row["w_layout"] == "expanded" and groups == 1 else 1, 3))
    gap_dim = draw(st.integers(0, nd - 1)) if row["stride_gap"] == "some" else None
    dil_dim = draw(st.integers(0, nd - 1)) if row["dilation"] == ">1" else None
    pad_dim = draw(st.integers(0, nd - 1)) if row["padding"] == "explicit" else None
    small = 2 if nd == 3 or cin_g > 15 else 3  # bounded cost: the largest kernels on the smallest problems
    kernel, stride, dilation, padding, size = [], [], [], [], []
    for j in range(nd):
        k = draw(st.integers(1, small))
        d = draw(st.integers(2, 3)) if j == dil_dim else 1
        s = draw(st.integers(k + 1, k + 2)) if j == gap_dim else 1 if row["padding"] == "same" else draw(st.integers(1, k))
        eff = geometry.effective_kernel(k, d)
        p = draw(st.integers(1, max(1, (eff - 1) // 2 if transposed else eff))) if j == pad_dim else 0
        if transposed:  # output length (L-1)s - 2p + eff >= 1
            least = max(1, -(-(2 * p - eff + 1) // s) + 1)
        else:  # output length (L + 2p - eff) // s + 1 >= 1
            least = max(1, eff - 2 * p)
        L = draw(st.integers(least, least + (2 if nd == 3 else 4)))
        kernel.append(k), stride.append(s), dilation.append(d), padding.append(p), size.append(L)
    pad = "same" if row["padding"] == "same" else tuple(padding)
    case = Case(row["op"], nd, batch, cin_g * groups, cout_g * groups, groups, tuple(size), tuple(kernel),
                tuple(stride), pad, tuple(dilation), 0, None, "zeros", row["bias"])
    case.config()  # valid by construction; raises (a bug here, not a rejection) otherwise
    return case, row["dtype"], row["x_layout"], row["w_layout"]
