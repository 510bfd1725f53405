"""The fast transposed convolution (oracle/scatter.py: geometry.tap_slices + arrays.apply_tap, shared
with the gather) against the independent literal scatter (oracle/literal.py: index arithmetic per
input position, np.add.at), which is itself anchored to the naive loops."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import conv_oracle as co
import naive
from conv_oracle import strategies as cs
from conv_oracle.oracle.literal import conv_transpose_literal
from test_against_naive import conv_transpose_cases

pytestmark = pytest.mark.oracle

FAST = {1: co.conv_transpose1d, 2: co.conv_transpose2d, 3: co.conv_transpose3d}


@given(conv_transpose_cases())
def test_literal_scatter_equals_naive(case):
    expected = naive.conv_transpose(case["input"], case["weight"], case["bias"], case["stride"], case["padding"],
                                    case.get("output_padding", 0), case["groups"], case["dilation"],
                                    case.get("output_size"))
    out = conv_transpose_literal(**case)
    assert out.shape == expected.shape and np.array_equal(out, expected)


@given(conv_transpose_cases())
def test_fast_scatter_equals_literal_on_naive_cases(case):
    fast = FAST[case["weight"].ndim - 2](**case)
    assert np.array_equal(fast, conv_transpose_literal(**case))


@settings(max_examples=40)
@given(cs.cases(op="conv_transpose", padding_modes=False, output_size=False, max_side=12),
       st.integers(0, 2 ** 32 - 1))
def test_fast_scatter_equals_literal_on_suite_cases(case, seed):
    """Larger, suite-shaped configurations than the naive loops can afford, integers: bit for bit."""
    ops = cs.make_operands(case, "exact", seed, 4)
    kw = case.oracle_kwargs()
    fast = FAST[case.nd](ops.x, ops.w, ops.b, **kw)
    assert np.array_equal(fast, conv_transpose_literal(ops.x, ops.w, ops.b, **kw))
