"""Differential properties: the oracle equals the loop-by-loop naive implementation, bit for bit.

Configurations are valid by construction (each parameter is drawn in the range torch's rules leave
open given the ones drawn before it), so nothing is filtered. Operands are small integers, so every
sum is exact in float64 and ``np.array_equal`` is the right comparison. Sizes are tiny because the
naive side is pure Python.
"""

import contextlib
import warnings
from unittest import mock

import numpy as np
import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

import conv_oracle as co
import naive
from conv_oracle.oracle import arrays, threads

pytestmark = pytest.mark.oracle

MODES = ("zeros", "reflect", "replicate", "circular")
# Per spatial rank: largest input length, kernel, padding, so that the naive loops stay fast.
MAX_L = {1: 7, 2: 6, 3: 5}
MAX_K = {1: 3, 2: 3, 3: 2}
MAX_P = {1: 3, 2: 2, 3: 1}


def _operands(seed, x_shape, w_shape, bias_len):
    rng = np.random.default_rng(seed)
    x = rng.integers(-4, 5, size=x_shape).astype(np.float64)
    w = rng.integers(-4, 5, size=w_shape).astype(np.float64)
    b = None if bias_len is None else rng.integers(-4, 5, size=bias_len).astype(np.float64)
    return x, w, b


@st.composite
def channels(draw):
    """``(groups, per-group in, per-group out)`` with at most 4 channels either side; a third of the
    draws are depthwise with a channel multiplier (one input channel per group, several outputs)."""
    if draw(st.integers(0, 2)) == 0:
        groups = draw(st.integers(1, 2))
        return groups, 1, draw(st.integers(2, 4 // groups))
    groups = draw(st.integers(1, 4))
    return groups, draw(st.integers(1, 4 // groups)), draw(st.integers(1, 4 // groups))


def _batch_shape(batch, channels_, size):
    return (channels_,) + size if batch is None else (batch, channels_) + size


def _tag_common(nd, batch, groups, ci_g, co_g, bias):
    event(f"nd={nd}")
    event("unbatched" if batch is None else f"batch={batch}")
    if groups > 1:
        event("groups>1, depthwise with channel multiplier" if ci_g == 1 and co_g > 1 else "groups>1")
    event("bias" if bias else "no bias")


@st.composite
def conv_cases(draw):
    """A valid conv configuration and its integer operands (as a dict of keyword arguments)."""
    nd = draw(st.integers(1, 3))
    groups, ci_g, co_g = draw(channels())
    batch = draw(st.none() | st.integers(0, 2))
    mode = draw(st.sampled_from(MODES))
    pad_kind = draw(st.sampled_from(["int", "tuple", "valid", "same"]))
    kernel = tuple(draw(st.integers(1, MAX_K[nd])) for _ in range(nd))
    # dilation keeps the effective kernel d*(k-1)+1 within the largest input length
    dilation = tuple(draw(st.integers(1, 3 if k == 1 else min(3, (MAX_L[nd] - 1) // (k - 1)))) for k in kernel)
    eff = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    stride = (1,) * nd if pad_kind == "same" else tuple(draw(st.integers(1, 4)) for _ in range(nd))
    if pad_kind == "same":
        padding = "same"
        pads = tuple(((e - 1) // 2, (e - 1) - (e - 1) // 2) for e in eff)
    elif pad_kind == "valid":
        padding, pads = "valid", ((0, 0),) * nd
    elif pad_kind == "int":
        padding = draw(st.integers(0, MAX_P[nd]))
        pads = ((padding, padding),) * nd
    else:
        padding = tuple(draw(st.integers(0, MAX_P[nd])) for _ in range(nd))
        pads = tuple((p, p) for p in padding)
    size = []
    for e, (pb, pa) in zip(eff, pads):
        lo = max(1, e - pb - pa)  # output length >= 1
        if mode == "reflect":
            lo = max(lo, pb + 1, pa + 1)  # reflect padding < input size
        elif mode == "circular":
            lo = max(lo, pb, pa)  # circular padding <= input size
        size.append(draw(st.integers(lo, MAX_L[nd])))
    size = tuple(size)
    has_bias = draw(st.booleans())
    seed = draw(st.integers(0, 2 ** 32 - 1))
    x, w, b = _operands(seed, _batch_shape(batch, groups * ci_g, size), (groups * co_g, ci_g) + kernel,
                        groups * co_g if has_bias else None)
    _tag_common(nd, batch, groups, ci_g, co_g, has_bias)
    event(f"padding={pad_kind}")
    event(f"padding_mode={mode}")
    if any(s > e for s, e in zip(stride, eff)):
        event("stride > effective kernel (skipped pixels)")
    if any(d > 1 for d in dilation):
        event("dilation > 1")
    if any(pb + pa >= 2 * e for e, (pb, pa) in zip(eff, pads)):
        event("padding >= kernel")
    return dict(input=x, weight=w, bias=b, stride=stride, padding=padding, dilation=dilation, groups=groups,
                padding_mode=mode)


@st.composite
def conv_transpose_cases(draw):
    """A valid transposed-conv configuration and integer operands. output_padding is drawn from
    either of torch's branches (``a < stride``, or ``stride <= a < dilation``); alternatively an
    ``output_size`` in ``[min, min + stride - 1]`` (spatial or full-shape form) replaces it."""
    nd = draw(st.integers(1, 3))
    groups, ci_g, co_g = draw(channels())
    batch = draw(st.none() | st.integers(0, 2))
    kernel = tuple(draw(st.integers(1, MAX_K[nd])) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    size = tuple(draw(st.integers(1, MAX_L[nd] - 2 if nd > 1 else MAX_L[nd])) for _ in range(nd))
    how = draw(st.sampled_from(["output_padding", "output_size", "output_size_full"]))
    opad, branches = [], []
    for s, d in zip(stride, dilation):
        if how == "output_padding" and d > s and draw(st.booleans()):
            opad.append(draw(st.integers(s, d - 1)))  # not < stride, but < dilation
            branches.append("dilation")
        else:
            opad.append(draw(st.integers(0, s - 1)))
            branches.append("stride")
    padding = []
    for L, k, s, d, a in zip(size, kernel, stride, dilation, opad):
        uncropped = (L - 1) * s + d * (k - 1) + 1 + a  # output length with padding 0
        padding.append(draw(st.integers(0, min(MAX_P[nd], (uncropped - 1) // 2))))  # keep output >= 1
    padding = tuple(padding)
    padding_arg = padding[0] if len(set(padding)) == 1 and draw(st.booleans()) else padding
    has_bias = draw(st.booleans())
    seed = draw(st.integers(0, 2 ** 32 - 1))
    x, w, b = _operands(seed, _batch_shape(batch, groups * ci_g, size), (groups * ci_g, co_g) + kernel,
                        groups * co_g if has_bias else None)
    _tag_common(nd, batch, groups, ci_g, co_g, has_bias)
    event(how)
    if "dilation" in branches:
        event("output_padding >= stride (smaller-than-dilation branch)")
    elif any(opad):
        event("0 < output_padding < stride")
    if any(s > d * (k - 1) + 1 for s, d, k in zip(stride, dilation, kernel)):
        event("stride > effective kernel (bias-only cells)")
    if any(p > 0 and a > 0 for p, a in zip(padding, opad)):
        event("output_padding with padding > 0")
    kwargs = dict(input=x, weight=w, bias=b, stride=stride, padding=padding_arg, dilation=dilation, groups=groups)
    if how == "output_padding":
        kwargs["output_padding"] = tuple(opad)
    else:
        smallest = [(L - 1) * s - 2 * p + d * (k - 1) + 1
                    for L, s, p, d, k in zip(size, stride, padding, dilation, kernel)]
        out_size = [m + a for m, a in zip(smallest, opad)]
        if how == "output_size_full":
            out_size = list(x.shape[:-nd - 1]) + [groups * co_g] + out_size
        kwargs["output_size"] = out_size
    return kwargs


ORACLE_CONV = {1: co.conv1d, 2: co.conv2d, 3: co.conv3d}
ORACLE_CONVT = {1: co.conv_transpose1d, 2: co.conv_transpose2d, 3: co.conv_transpose3d}


def _nd(case):
    return case["weight"].ndim - 2


@given(conv_cases())
def test_conv_equals_naive(case):
    """conv{1,2,3}d(**case) == naive.conv(**case) exactly, shape included."""
    expected = naive.conv(case["input"], case["weight"], case["bias"], case["stride"], case["padding"],
                          case["dilation"], case["groups"], case["padding_mode"])
    out = ORACLE_CONV[_nd(case)](**case)
    assert out.dtype == np.float64
    assert out.shape == expected.shape
    assert np.array_equal(out, expected)


@given(conv_transpose_cases())
@example(dict(input=np.array([[[[1.0, 2], [3, 4]]]]), weight=np.array([[[[1.0, 2], [0, 1]]]]), bias=None,
              stride=4, padding=0, dilation=1, groups=1, output_padding=0))  # the 6x6 seed case
def test_conv_transpose_equals_naive(case):
    """conv_transpose{1,2,3}d(**case) == naive.conv_transpose(**case) exactly, shape included."""
    expected = naive.conv_transpose(case["input"], case["weight"], case["bias"], case["stride"], case["padding"],
                                    case.get("output_padding", 0), case["groups"], case["dilation"],
                                    case.get("output_size"))
    out = ORACLE_CONVT[_nd(case)](**case)
    assert out.dtype == np.float64
    assert out.shape == expected.shape
    assert np.array_equal(out, expected)


@given(conv_cases(), st.integers(0, 2 ** 32 - 1))
def test_complex_conv_equals_naive(case, seed):
    """With complex integer operands (imaginary parts added) the oracle equals the naive conv exactly."""
    rng = np.random.default_rng(seed)
    for key in ("input", "weight"):
        case[key] = case[key] + 1j * rng.integers(-4, 5, size=case[key].shape)
    out = ORACLE_CONV[_nd(case)](**case)
    expected = naive.conv(case["input"], case["weight"], case["bias"], case["stride"], case["padding"],
                          case["dilation"], case["groups"], case["padding_mode"])
    assert out.dtype == np.complex128
    assert np.array_equal(out, expected)


@given(conv_transpose_cases(), st.integers(0, 2 ** 32 - 1))
def test_complex_conv_transpose_equals_naive(case, seed):
    """With complex integer operands the oracle's transposed conv equals the naive scatter exactly."""
    rng = np.random.default_rng(seed)
    for key in ("input", "weight"):
        case[key] = case[key] + 1j * rng.integers(-4, 5, size=case[key].shape)
    out = ORACLE_CONVT[_nd(case)](**case)
    expected = naive.conv_transpose(case["input"], case["weight"], case["bias"], case["stride"], case["padding"],
                                    case.get("output_padding", 0), case["groups"], case["dilation"],
                                    case.get("output_size"))
    assert out.dtype == np.complex128
    assert np.array_equal(out, expected)


@given(st.one_of(conv_cases(), conv_transpose_cases()))
def test_batch_chunking_is_invisible(case):
    """With a one-byte chunk budget every sample of a depthwise operator is its own chunk, and the
    chunks run on the thread pool: the result is still exactly the naive one."""
    transposed = "output_padding" in case or "output_size" in case
    in_per_group = case["weight"].shape[0] // case["groups"] if transposed else case["weight"].shape[1]
    batched = case["input"].ndim == case["weight"].ndim
    if in_per_group == 1 and batched and case["input"].shape[0] > 1:
        event("several chunks (depthwise, batch > 1)")
    with mock.patch.object(arrays, "CHUNK_BYTES", 1):
        if transposed:
            out = ORACLE_CONVT[_nd(case)](**case)
            expected = naive.conv_transpose(case["input"], case["weight"], case["bias"], case["stride"],
                                            case["padding"], case.get("output_padding", 0), case["groups"],
                                            case["dilation"], case.get("output_size"))
        else:
            out = ORACLE_CONV[_nd(case)](**case)
            expected = naive.conv(case["input"], case["weight"], case["bias"], case["stride"], case["padding"],
                                  case["dilation"], case["groups"], case["padding_mode"])
    assert np.array_equal(out, expected)


@pytest.mark.parametrize("transposed", [False, True])
def test_depthwise_batch_chunks_at_default_budget(transposed):
    """A depthwise input of about 5.8 MB per sample (1.4 MB per group) is split into tiles of one
    sample and two groups at the default budget: the batch result equals the per-sample results exactly."""
    rng = np.random.default_rng(11)
    x = rng.integers(-4, 5, size=(3, 4, 300, 300)).astype(float)
    assert len(threads.plan_tiles(3, 4, 1, 0, x[0, 0].nbytes * 2, True)) == 6  # two (sample, group) units per tile
    if transposed:
        w, kw, fn = rng.integers(-4, 5, size=(4, 2, 2, 2)).astype(float), dict(stride=2, groups=4), co.conv_transpose2d
    else:
        w, kw, fn = rng.integers(-4, 5, size=(8, 1, 3, 3)).astype(float), dict(padding=1, groups=4), co.conv2d
    b = rng.integers(-4, 5, size=8).astype(float)
    out = fn(x, w, b, **kw)
    assert np.array_equal(out, np.concatenate([fn(x[i:i + 1], w, b, **kw) for i in range(3)]))


@st.composite
def depthwise_cases(draw):
    """Depthwise (one input channel per group, with a channel multiplier) convs, every padding kind
    and mode, stride, dilation, 1-3 D: stride 1 takes the oracle's flat-shift path (gather._flat_taps)."""
    nd = draw(st.integers(1, 3))
    groups, mult = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    batch = draw(st.none() | st.integers(1, 2))
    mode = draw(st.sampled_from(MODES))
    kernel = tuple(draw(st.integers(1, MAX_K[nd])) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in kernel)
    eff = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    stride = tuple(draw(st.integers(1, 4)) for _ in kernel)
    padding = draw((st.sampled_from(["same", "valid"]) if stride == (1,) * nd else st.just("valid"))
                   | st.integers(0, MAX_P[nd]))
    pads = [((e - 1) // 2, e - 1 - (e - 1) // 2) if padding == "same" else (0, 0) if padding == "valid"
            else (padding, padding) for e in eff]
    size = tuple(draw(st.integers(max(1, e - pb - pa, pb + 1 if mode == "reflect" else 0, pa + 1 if mode == "reflect"
                                      else 0, pb if mode == "circular" else 0), MAX_L[nd] + 2))
                 for e, (pb, pa) in zip(eff, pads))
    x, w, b = _operands(draw(st.integers(0, 2 ** 32 - 1)), _batch_shape(batch, groups, size),
                        (groups * mult, 1) + kernel, groups * mult if draw(st.booleans()) else None)
    return dict(input=x, weight=w, bias=b, stride=stride, padding=padding, dilation=dilation, groups=groups,
                padding_mode=mode)


@given(depthwise_cases())
def test_depthwise_equals_naive(case):
    expected = naive.conv(case["input"], case["weight"], case["bias"], case["stride"], case["padding"],
                          case["dilation"], case["groups"], case["padding_mode"])
    assert np.array_equal(ORACLE_CONV[_nd(case)](**case), expected)


def test_an_infinite_weight_over_zero_padding_gives_nan():
    """Zero padding is part of the input: an infinite weight tap over it adds inf * 0 = NaN (IEEE), in
    the depthwise stride-1 path (which never materialises padding for finite weights) and the general one."""
    x, w = np.array([[[1.0, 2.0]]]), np.array([[[np.inf, 1.0]]])
    for out in (co.conv1d(x, w, padding=1), co.conv1d(np.concatenate([x, x], 1), np.concatenate([w, w]), padding=1,
                                                     groups=2), co.conv1d(x, w, padding=1, stride=2)):
        assert np.isnan(out[0, 0, 0]) and (out[0, 0, 1:] == np.inf).all()
    with np.errstate(invalid="ignore"):  # the naive loops' own inf * 0
        expected = naive.conv(x, w, padding=1)
    assert np.array_equal(expected, co.conv1d(x, w, padding=1), equal_nan=True)
    assert (co.conv1d(x, np.array([[[3.0, 1.0]]]), padding=1) == [[[1.0, 5.0, 6.0]]]).all()  # finite: adds nothing


@pytest.mark.parametrize("tiled", [False, True], ids=["one thread", "tiles on 3 threads"])
def test_nonfinite_operands_give_ieee_values_without_numpy_warnings(tiled):
    """Inf * 0 = NaN and overflow to Inf are the definition's values: the public operators and the
    adjoints warn of neither, in the calling thread or in the tile helpers (numpy's error state is
    per thread: the helpers run in a copy of the caller's context)."""
    from conv_oracle.definition.validation import conv_config, conv_transpose_config
    from conv_oracle.oracle.adjoints import conv_grads, conv_transpose_grads
    x = np.full((2, 4, 9, 9), 1e308)
    w = np.full((6, 4, 3, 3), np.inf)
    w[0] = 0.0
    wt = np.full((4, 6, 3, 3), np.inf)
    gy = np.full((2, 6, 9, 9), np.inf)
    workers = (mock.patch.object(threads, "MIN_PARALLEL_WORK", 0), mock.patch.object(threads, "cores", lambda: 3))
    with warnings.catch_warnings(), workers[0] if tiled else contextlib.nullcontext(), \
            workers[1] if tiled else contextlib.nullcontext():
        warnings.simplefilter("error")
        y = co.conv2d(x, w, padding=1)
        yt = co.conv_transpose2d(x, wt, padding=1)
        grads = conv_grads(x, w, gy, conv_config(x.shape, w.shape, None, 1, 1, 1, 1, "zeros", nd=2))
        tgrads = conv_transpose_grads(x, wt, np.full((2, 6, 9, 9), np.inf),
                                      conv_transpose_config(x.shape, wt.shape, None, 1, 1, 0, 1, 1, None, nd=2))
    assert (y[:, 0] == 0).all() and np.isnan(y[:, 1:, 0, 0]).all() and (y[:, 1:, 1:-1, 1:-1] == np.inf).all()
    assert (yt == np.inf).all()
    assert np.isnan(grads[1][0]).any() and (grads[2] == np.inf).all() and (tgrads[2] == np.inf).all()


@given(st.one_of(conv_cases(), depthwise_cases()), st.lists(st.sampled_from([np.inf, -np.inf, np.nan]), min_size=1,
                                                      max_size=3), st.integers(0, 2 ** 32 - 1))
def test_nonfinite_weights_equal_naive(case, values, seed):
    """IEEE on the definition with +-Inf / NaN in the weight: padding zeros included (inf * 0 = NaN)."""
    w = case["weight"].copy()
    rng = np.random.default_rng(seed)
    for v in values:
        w.reshape(-1)[rng.integers(w.size)] = v
    case = dict(case, weight=w)
    with np.errstate(invalid="ignore", over="ignore"):
        expected = naive.conv(case["input"], w, case["bias"], case["stride"], case["padding"], case["dilation"],
                              case["groups"], case["padding_mode"])
        out = ORACLE_CONV[_nd(case)](**case)
    assert np.array_equal(out, expected, equal_nan=True)
