"""Geometry: the closed-form masks and sizes equal brute-force enumeration of the definitions,
the oracle's shapes equal the size functions, and the masks describe what the oracle actually does.

Brute force means enumerating every (output o, tap t) pair for conv (input ``o*s + t*d`` of the
padded axis is read, and mapped back to the input the padding mode copies) and every (input i,
tap t) pair for the transposed conv (output ``i*s - p + t*d`` receives a contribution).
"""

import itertools

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

import conv_oracle as co
import naive

pytestmark = pytest.mark.oracle

MODES = ("zeros", "reflect", "replicate", "circular")
MAX_L = {1: 12, 2: 7, 3: 5}
CONV = {1: co.conv1d, 2: co.conv2d, 3: co.conv3d}
CONVT = {1: co.conv_transpose1d, 2: co.conv_transpose2d, 3: co.conv_transpose3d}


def _arg(draw, values):
    """Pass a per-dimension argument as an int when all equal (half the time), else as a tuple."""
    values = tuple(values)
    return values[0] if len(set(values)) == 1 and draw(st.booleans()) else values


@st.composite
def conv_geometries(draw):
    """Valid conv geometry: sizes, kernel, stride, padding (int/tuple/'valid'/'same'), dilation, mode."""
    nd = draw(st.integers(1, 3))
    mode = draw(st.sampled_from(MODES))
    kind = draw(st.sampled_from(["int", "tuple", "valid", "same"]))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 3 if k == 1 else min(3, (MAX_L[nd] - 1) // (k - 1)))) for k in kernel)
    eff = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    stride = (1,) * nd if kind == "same" else tuple(draw(st.integers(1, 6)) for _ in range(nd))
    if kind == "same":
        padding, pads = "same", naive.conv_padding("same", kernel, dilation)
    elif kind == "valid":
        padding, pads = "valid", [(0, 0)] * nd
    else:
        p = tuple(draw(st.integers(0, 4)) for _ in range(nd))
        if kind == "int":
            p = (p[0],) * nd
        padding, pads = (p[0] if kind == "int" else p), [(q, q) for q in p]
    size = []
    for e, (pb, pa) in zip(eff, pads):
        lo = max(1, e - pb - pa, max(pb, pa) + 1 if mode == "reflect" else 0, max(pb, pa) if mode == "circular" else 0)
        size.append(draw(st.integers(min(lo, MAX_L[nd]), max(lo, MAX_L[nd]))))
    event(f"nd={nd}")
    event(f"padding={kind}")
    event(f"mode={mode}")
    if any(s > e for s, e in zip(stride, eff)):
        event("stride > effective kernel")
    return dict(nd=nd, size=tuple(size), kernel=_arg(draw, kernel), stride=_arg(draw, stride), padding=padding,
                dilation=_arg(draw, dilation), padding_mode=mode, kernel_t=kernel, stride_t=stride,
                dilation_t=dilation, pads=pads)


@st.composite
def transpose_geometries(draw):
    """Valid transposed-conv geometry, output_padding from either of torch's branches."""
    nd = draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 6)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    size = tuple(draw(st.integers(1, MAX_L[nd] // 2 + 1)) for _ in range(nd))
    # output_padding < stride, or (when dilation > stride, half the time) in [stride, dilation)
    opad = tuple(draw(st.integers(s, d - 1)) if d > s and draw(st.booleans()) else draw(st.integers(0, s - 1))
                 for s, d in zip(stride, dilation))
    pad = tuple(draw(st.integers(0, ((L - 1) * s + d * (k - 1) + a) // 2))  # output >= 1
                for L, k, s, d, a in zip(size, kernel, stride, dilation, opad))
    event(f"nd={nd}")
    if any(a >= s for a, s in zip(opad, stride)):
        event("output_padding >= stride (< dilation)")
    if any(p > 0 and a > 0 for p, a in zip(pad, opad)):
        event("output_padding with padding > 0")
    return dict(nd=nd, size=size, kernel=_arg(draw, kernel), stride=_arg(draw, stride), padding=_arg(draw, pad),
                output_padding=_arg(draw, opad), dilation=_arg(draw, dilation), kernel_t=kernel, stride_t=stride,
                dilation_t=dilation, pad_t=pad, opad_t=opad)


def brute_conv_out_len(L, k, s, d, pb, pa):
    """Number of windows o >= 0 whose last tap o*s + d*(k-1) lies inside the padded axis."""
    n = 0
    while n * s + d * (k - 1) < L + pb + pa:
        n += 1
    return n


def brute_skipped(g):
    """Enumerate every (output o, tap t); mark the input each read copies; the rest is skipped."""
    nd, size = g["nd"], g["size"]
    out_len = [brute_conv_out_len(L, k, s, d, pb, pa) for L, k, s, d, (pb, pa)
               in zip(size, g["kernel_t"], g["stride_t"], g["dilation_t"], g["pads"])]
    read = np.zeros(size, dtype=bool)
    for o in itertools.product(*(range(n) for n in out_len)):
        for t in itertools.product(*(range(k) for k in g["kernel_t"])):
            src = tuple(naive.padded_source(o[a] * g["stride_t"][a] + t[a] * g["dilation_t"][a], size[a],
                                            g["pads"][a][0], g["padding_mode"]) for a in range(nd))
            if None not in src:
                read[src] = True
    return ~read, tuple(out_len)


def brute_bias_only(g):
    """Enumerate every (input i, tap t); mark output i*s - p + t*d; the rest is bias-only."""
    nd = g["nd"]
    # uncropped length = 1 + the last position any (i, t) writes; then crop p each side, add a
    out_len = tuple(max(i * s + t * d for i in range(L) for t in range(k)) + 1 - 2 * p + a
                    for L, k, s, d, p, a in zip(g["size"], g["kernel_t"], g["stride_t"], g["dilation_t"],
                                                g["pad_t"], g["opad_t"]))
    touched = np.zeros(out_len, dtype=bool)
    for i in itertools.product(*(range(L) for L in g["size"])):
        for t in itertools.product(*(range(k) for k in g["kernel_t"])):
            j = tuple(i[a] * g["stride_t"][a] - g["pad_t"][a] + t[a] * g["dilation_t"][a] for a in range(nd))
            if all(0 <= j[a] < out_len[a] for a in range(nd)):
                touched[j] = True
    return ~touched, out_len


def _skipped(g):
    size = g["size"][0] if g["nd"] == 1 and g["size"][0] % 2 else g["size"]  # int form for some 1-D cases
    return co.skipped_input_pixels(size, g["kernel"], g["stride"], g["padding"], g["dilation"], g["padding_mode"])


def _bias_only(g):
    return co.bias_only_output_cells(g["size"], g["kernel"], g["stride"], g["padding"], g["output_padding"],
                                     g["dilation"])


@given(conv_geometries())
def test_skipped_input_pixels_equals_brute_force(g):
    """skipped_input_pixels == complement of the set of inputs read by some (output, tap) pair."""
    expected, _ = brute_skipped(g)
    mask = _skipped(g)
    if expected.any():
        event("some pixels skipped")
    assert mask.dtype == bool
    assert np.array_equal(mask.reshape(expected.shape), expected)


@given(transpose_geometries())
def test_bias_only_output_cells_equals_brute_force(g):
    """bias_only_output_cells == complement of the set of outputs some (input, tap) pair writes."""
    expected, _ = brute_bias_only(g)
    mask = _bias_only(g)
    if expected.any():
        event("some cells bias-only")
    assert mask.dtype == bool
    assert np.array_equal(mask, expected)


@given(conv_geometries())
def test_conv_output_size_matches_enumeration_and_oracle(g):
    """conv_output_size == number of windows that fit (enumerated) == the oracle's output shape."""
    _, out_len = brute_skipped(g)
    assert co.conv_output_size(g["size"], g["kernel"], g["stride"], g["padding"], g["dilation"]) == out_len
    x = np.zeros((1, 1) + g["size"])
    w = np.zeros((1, 1) + g["kernel_t"])
    out = CONV[g["nd"]](x, w, None, g["stride"], g["padding"], g["dilation"], 1, g["padding_mode"])
    assert out.shape[2:] == out_len


@given(transpose_geometries())
def test_conv_transpose_output_size_matches_enumeration_and_oracle(g):
    """conv_transpose_output_size == 1 + last written position - 2p + a == the oracle's output shape."""
    _, out_len = brute_bias_only(g)
    assert co.conv_transpose_output_size(g["size"], g["kernel"], g["stride"], g["padding"], g["output_padding"],
                                         g["dilation"]) == out_len
    out = CONVT[g["nd"]](np.zeros((1, 1) + g["size"]), np.zeros((1, 1) + g["kernel_t"]), None, g["stride"],
                         g["padding"], g["output_padding"], 1, g["dilation"])
    assert out.shape[2:] == out_len


@given(conv_geometries(), st.integers(0, 2 ** 32 - 1))
def test_skipped_mask_matches_oracle_reads(g, seed):
    """Poisoning every skipped pixel with NaN/Inf leaves the oracle's output bit-identical, while
    poisoning any single non-skipped pixel with NaN makes some output NaN (the mask is exact)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-4, 5, size=(1, 2) + g["size"]).astype(float)
    w = rng.integers(1, 5, size=(2, 2) + g["kernel_t"]).astype(float)
    kw = dict(stride=g["stride"], padding=g["padding"], dilation=g["dilation"], padding_mode=g["padding_mode"])
    conv = CONV[g["nd"]]
    mask = _skipped(g).reshape(g["size"])
    clean = conv(x, w, **kw)
    poisoned = x.copy()
    poisoned[:, :, mask] = np.where(rng.random((1, 2, int(mask.sum()))) < 0.5, np.nan, np.inf)
    assert np.array_equal(conv(poisoned, w, **kw), clean)
    for idx in zip(*np.nonzero(~mask)):
        probe = x.copy()
        probe[(0, int(rng.integers(2))) + idx] = np.nan
        assert np.isnan(conv(probe, w, **kw)).any(), f"pixel {idx} is marked read but never read"


@given(transpose_geometries(), st.booleans())
def test_bias_only_mask_matches_oracle(g, poison_weight):
    """With all-NaN input (or all-Inf weight) and a bias, the oracle's bias-only cells equal the bias
    exactly and every other cell is NaN (the mask is exact)."""
    nd = g["nd"]
    x = np.full((2, 2) + g["size"], np.nan) if not poison_weight else np.ones((2, 2) + g["size"])
    w = np.full((2, 3) + g["kernel_t"], np.inf if poison_weight else 1.0)
    if poison_weight:
        x[0, 0] = 0.0  # 0 * Inf = NaN in batch 0, Inf elsewhere
    bias = np.array([0.1, -3.0, 7.5])
    with np.errstate(invalid="ignore"):  # 0 * Inf
        out = CONVT[nd](x, w, bias, g["stride"], g["padding"], g["output_padding"], 1, g["dilation"])
    mask = _bias_only(g)
    assert np.array_equal(out[:, :, mask], np.broadcast_to(bias[None, :, None], (2, 3, int(mask.sum()))))
    assert not np.isfinite(out[:, :, ~mask]).any()


# ---------------------------------------------------------------------------------------------
# Large lengths: the masks are computed in closed form (linear in the length, not length x kernel).
# ---------------------------------------------------------------------------------------------

def _sample(n, rng):
    """Positions to check: both ends, the middle and random ones."""
    return np.unique(np.concatenate([np.arange(3000), np.arange(n // 2 - 1500, n // 2 + 1500),
                                     np.arange(n - 3000, n), rng.integers(0, n, 3000)]))


@pytest.mark.parametrize("k, s, d, p", [
    (1000, 3001, 3, 0),   # stride > effective kernel 2998: gaps and a tail
    (1000, 6, 4, 7),      # gcd(s, d) = 2: odd/even structure at the ends
    (1000, 1999, 2, 500),  # stride just above E - 1, padding
    (1000, 5, 1, 0),      # dense: nothing skipped but a tail
])
def test_skipped_mask_long_axis(k, s, d, p):
    """Length 10**6, kernel 10**3: the mask equals the definition on a sampled region (a quadratic
    algorithm would need 10**9 steps; this finishes in milliseconds)."""
    L = 10 ** 6
    mask = co.skipped_input_pixels(L, k, stride=s, padding=p, dilation=d)
    assert mask.shape == (L,)
    n_out = (L + 2 * p - d * (k - 1) - 1) // s + 1
    i = _sample(L, np.random.default_rng(k + s))
    q = (i + p)[:, None] - d * np.arange(k)[None, :]  # q = o*s for the output o reading i with tap t
    read = ((q % s == 0) & (q >= 0) & (q // s < n_out)).any(axis=1)
    assert np.array_equal(mask[i], ~read)


@pytest.mark.parametrize("k, s, d, p, a", [
    (1000, 3001, 3, 0, 5),
    (1000, 6, 4, 7, 3),
    (1000, 1, 3, 400, 2),  # output_padding >= stride, < dilation
])
def test_bias_only_mask_long_axis(k, s, d, p, a):
    """Kernel 10**3, output length about 10**6 (input 10**6 // stride): the mask equals the definition
    on a sampled region."""
    L = 10 ** 6 // s + 1
    mask = co.bias_only_output_cells(L, k, stride=s, padding=p, output_padding=a, dilation=d)
    n_out = (L - 1) * s - 2 * p + d * (k - 1) + 1 + a
    assert mask.shape == (n_out,)
    j = _sample(n_out, np.random.default_rng(k + s))
    q = (j + p)[:, None] - d * np.arange(k)[None, :]  # q = i*s for the input i writing j with tap t
    touched = ((q % s == 0) & (q >= 0) & (q // s < L)).any(axis=1)
    assert np.array_equal(mask[j], ~touched)


@pytest.mark.parametrize("args, expected", [
    # conv2d, input (2, 1), kernel (2, 1), stride (1, 2), padding (0, 1), dilation (1, 2): the width's two
    # output cells read positions -1 and 1 of a width-1 input, both padding; the height reads rows 0 and 1
    (dict(input_size=(2, 1), kernel_size=(2, 1), stride=(1, 2), padding=(0, 1), dilation=(1, 2)), (False, True)),
    # length 3, stride 4, padding 1, dilation 2, one tap: outputs read -1 and 3, the padding on both sides
    (dict(input_size=3, kernel_size=1, stride=4, padding=1, dilation=2), (True,)),
    # length 4: the second output reads position 3, a real pixel
    (dict(input_size=4, kernel_size=1, stride=4, padding=1, dilation=2), (False,)),
    # padding_mode circular: the padded positions are copies of the input, not padding
    (dict(input_size=3, kernel_size=1, stride=4, padding=1, dilation=2, padding_mode="circular"), (False,)),
    # 'same' on a depth-1 input with 2 taps 2 apart: padding (1, 1), taps at -1 and 1; the height's kernel of 2
    # pads (0, 1) and its first tap reads row 0
    (dict(input_size=(1, 1, 5), kernel_size=(2, 2, 1), padding="same", dilation=(2, 1, 1)), (True, False, False)),
    # 2 taps 3 apart over a length-1 input with padding 2: taps at -2, 1 and -1, 2 (every tap straddles it)
    (dict(input_size=1, kernel_size=2, padding=2, dilation=3), (True,)),
    (dict(input_size=1, kernel_size=2, padding=1, dilation=1), (False,)),
])
def test_conv_padding_only_axes_hand_cases(args, expected):
    from conv_oracle.definition.geometry import conv_padding_only_axes
    assert conv_padding_only_axes(**args) == expected


@pytest.mark.parametrize("args, expected", [
    # one input, 2 taps 3 apart, padding 1: targets -1 and 2 of an output of length 2 -> nothing lands
    (dict(input_size=1, kernel_size=2, padding=1, dilation=3), (True,)),
    (dict(input_size=1, kernel_size=3, padding=1), (False,)),  # the middle tap lands on output 0
    (dict(input_size=(2, 1), kernel_size=(1, 2), stride=(3, 1), padding=(0, 1), dilation=(1, 3)), (False, True)),
])
def test_conv_transpose_padding_only_axes_hand_cases(args, expected):
    from conv_oracle.definition.geometry import conv_transpose_padding_only_axes
    assert conv_transpose_padding_only_axes(**args) == expected


@given(conv_geometries())
def test_conv_padding_only_axes_equals_brute_force(g):
    """A dimension is padding-only iff it has output cells and no (output, tap) pair along it reads a real
    pixel (with a non-'zeros' mode every padded position copies one)."""
    from conv_oracle.definition.geometry import conv_padding_only_axes
    got = conv_padding_only_axes(g["size"], g["kernel"], g["stride"], g["padding"], g["dilation"], g["padding_mode"])
    for L, k, s, d, (pb, pa), po in zip(g["size"], g["kernel_t"], g["stride_t"], g["dilation_t"], g["pads"], got):
        n_out = (L + pb + pa - d * (k - 1) - 1) // s + 1
        reads = [o * s - pb + t * d for o in range(n_out) for t in range(k)]
        real = any(0 <= r < L for r in reads) if g["padding_mode"] == "zeros" else bool(reads)
        event(f"padding-only {po}")
        assert po == (n_out >= 1 and not real), g
