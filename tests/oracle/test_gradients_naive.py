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
