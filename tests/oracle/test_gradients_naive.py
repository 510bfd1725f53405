"""The oracle's gradients (oracle/adjoints.py) equal naive-loop gradients from the definitions
(naive_grads.py), bit for bit on integers: input, weight and bias; every parameter the forward
tests draw (stride, padding incl. 'same'/'valid', dilation, groups, every padding_mode,
output_padding / output_size); 1-D/2-D/3-D; batched and unbatched; both operators.

The differential suite compares torch's autograd with these adjoints, so without this test a bug
in them would be blamed on torch."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import naive_grads
from conv_oracle.definition.validation import conv_config, conv_transpose_config
from conv_oracle.oracle.adjoints import conv_grads, conv_transpose_grads
from test_against_naive import conv_cases, conv_transpose_cases

pytestmark = pytest.mark.oracle


def _shape(a):
    return None if a is None else tuple(a.shape)


def _batched(case):
    x = case["input"]
    return x if x.ndim == case["weight"].ndim else x[np.newaxis]


def _gy(seed, shape):
    return np.random.default_rng(seed).integers(-4, 5, size=shape).astype(np.float64)


def _check(ours, theirs):
    for name, a, b in zip(("input", "weight", "bias"), ours, theirs):
        assert a.shape == b.shape, name
        assert np.array_equal(a, b), f"grad_{name} differs at {np.argwhere(a != b)[:3].tolist()}"


@given(conv_cases(), st.integers(0, 2 ** 32 - 1))
def test_conv_gradients_equal_naive(case, seed):
    nd = case["weight"].ndim - 2
    x, w = _batched(case), case["weight"]
    cfg = conv_config(_shape(case["input"]), _shape(w), _shape(case["bias"]), case["stride"], case["padding"],
                      case["dilation"], case["groups"], case["padding_mode"], nd=nd)
    gy = _gy(seed, (x.shape[0], cfg.out_channels) + tuple(cfg.output_size))
    ours = conv_grads(x, w, gy, cfg)
    theirs = naive_grads.conv_grads(x, w, gy, case["stride"], case["padding"], case["dilation"], case["groups"],
                                    case["padding_mode"])
    _check(ours, theirs)


@given(conv_transpose_cases(), st.integers(0, 2 ** 32 - 1))
def test_conv_transpose_gradients_equal_naive(case, seed):
    nd = case["weight"].ndim - 2
    x, w = _batched(case), case["weight"]
    cfg = conv_transpose_config(_shape(case["input"]), _shape(w), _shape(case["bias"]), case["stride"],
                                case["padding"], case.get("output_padding", 0), case["groups"], case["dilation"],
                                case.get("output_size"), nd=nd)
    gy = _gy(seed, (x.shape[0], cfg.out_channels) + tuple(cfg.output_size))
    ours = conv_transpose_grads(x, w, gy, cfg)
    theirs = naive_grads.conv_transpose_grads(x, w, gy, case["stride"], cfg.padding_before, case["dilation"],
                                              case["groups"])
    _check(ours, theirs)


def _poisoned(gy, values, seed):
    rng = np.random.default_rng(seed)
    for v in values if gy.size else ():  # an empty batch has no cell to poison
        gy.reshape(-1)[rng.integers(gy.size)] = v
    return gy


NONFINITE = st.lists(st.sampled_from([np.inf, -np.inf, np.nan]), min_size=1, max_size=3)


def _check_nonfinite(ours, theirs):
    for name, a, b in zip(("input", "weight", "bias"), ours, theirs):
        assert a.shape == b.shape, name
        assert np.array_equal(a, b, equal_nan=True), \
            f"grad_{name} differs at {np.argwhere(~((a == b) | (np.isnan(a) & np.isnan(b))))[:3].tolist()}"


@given(conv_cases(), NONFINITE, st.integers(0, 2 ** 32 - 1))
def test_conv_gradients_of_a_nonfinite_output_gradient_equal_naive(case, values, seed):
    """IEEE on the definition with +-Inf / NaN in the output gradient: the padding's zeros are terms of
    the weight gradient (inf * 0 = NaN), a pixel no output reads keeps the sum over no terms, 0."""
    nd = case["weight"].ndim - 2
    x, w = _batched(case), case["weight"]
    cfg = conv_config(_shape(case["input"]), _shape(w), _shape(case["bias"]), case["stride"], case["padding"],
                      case["dilation"], case["groups"], case["padding_mode"], nd=nd)
    gy = _poisoned(_gy(seed, (x.shape[0], cfg.out_channels) + tuple(cfg.output_size)), values, seed)
    with np.errstate(invalid="ignore", over="ignore"):
        ours = conv_grads(x, w, gy, cfg)
        theirs = naive_grads.conv_grads(x, w, gy, case["stride"], case["padding"], case["dilation"],
                                        case["groups"], case["padding_mode"])
    _check_nonfinite(ours, theirs)


@given(conv_transpose_cases(), NONFINITE, st.integers(0, 2 ** 32 - 1))
def test_conv_transpose_gradients_of_a_nonfinite_output_gradient_equal_naive(case, values, seed):
    """The same for the transposed conv, whose cropped cells are no terms at all."""
    nd = case["weight"].ndim - 2
    x, w = _batched(case), case["weight"]
    cfg = conv_transpose_config(_shape(case["input"]), _shape(w), _shape(case["bias"]), case["stride"],
                                case["padding"], case.get("output_padding", 0), case["groups"], case["dilation"],
                                case.get("output_size"), nd=nd)
    gy = _poisoned(_gy(seed, (x.shape[0], cfg.out_channels) + tuple(cfg.output_size)), values, seed)
    with np.errstate(invalid="ignore", over="ignore"):
        ours = conv_transpose_grads(x, w, gy, cfg)
        theirs = naive_grads.conv_transpose_grads(x, w, gy, case["stride"], cfg.padding_before, case["dilation"],
                                                  case["groups"])
    _check_nonfinite(ours, theirs)


def test_an_infinite_output_gradient_over_zero_padding_gives_a_nan_weight_gradient():
    """Hand case: conv1d, x = [1, 2], w = [1, 1], padding 1: out = [1, 3, 2]. With gy = [inf, 0, 0], tap 0
    reads the padding zero for out[0]: gw[0] = inf * 0 + 0 * 1 + 0 * 2 = NaN; tap 1 reads x[0]: gw[1] = inf."""
    x, w = np.array([[[1.0, 2.0]]]), np.array([[[1.0, 1.0]]])
    cfg = conv_config((1, 1, 2), (1, 1, 2), None, 1, 1, 1, 1, "zeros", nd=1)
    with np.errstate(invalid="ignore"):
        gx, gw, gb = conv_grads(x, w, np.array([[[np.inf, 0.0, 0.0]]]), cfg)
    assert np.isnan(gw[0, 0, 0]) and gw[0, 0, 1] == np.inf and gb[0] == np.inf
    assert gx[0, 0, 0] == np.inf and gx[0, 0, 1] == 0.0  # x[1] is read by out[1], out[2] only: 0 * 1 + 0 * 1
    # padding='same' with an even kernel pads after only (0 before, 1 after): tap 1 of out[0] reads that zero
    cfg = conv_config((1, 1, 1), (1, 1, 2), None, 1, "same", 1, 1, "zeros", nd=1)
    with np.errstate(invalid="ignore"):
        gx, gw, gb = conv_grads(np.array([[[2.0]]]), np.array([[[1.0, 0.0]]]), np.array([[[np.inf]]]), cfg)
    assert gw[0, 0, 0] == np.inf and np.isnan(gw[0, 0, 1]) and gx[0, 0, 0] == np.inf
