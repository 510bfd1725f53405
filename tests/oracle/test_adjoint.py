"""Adjoint property: the transposed convolution is the adjoint of the convolution.

For a conv of ``x`` (spatial length ``L``) with stride ``s``, padding ``p``, dilation ``d`` and
kernel ``k`` (``E = d*(k-1) + 1``), the output has ``L_out = (L + 2p - E)//s + 1`` cells, and the
transposed conv of a ``y`` of that length, with the same ``s, p, d, k, groups`` and weight, has
``(L_out - 1)*s - 2p + E + a`` cells. The shapes meet for

    a = L - ((L_out - 1)*s - 2p + E) = (L + 2p - E) mod s,

which always lies in ``[0, s)``: torch's rule "output_padding smaller than stride or dilation"
can never be violated by it, so no configuration needs to be skipped (the test asserts this and
that the geometry functions agree). Equivalently ``output_size = L`` can be passed instead.

Then ``<conv(x, w), y> == <x, conv_transpose(y, w)>`` for every ``x, y``: both sides are
``sum x[i] w[t] y[o]`` over the same triples ``i + p = o*s + t*d``. Operands are small integers and
the inner products are taken in Python integers, so the comparison is exact.

The two sides are different computations: the conv is the oracle's fast gather
(``geometry.tap_slices`` + ``arrays.apply_tap``), the transposed conv the independent literal
scatter (``oracle/literal.py``: per-position index arithmetic and ``np.add.at``), so a fault in the
shared fast engine cannot cancel out. The fast scatter is also checked to equal the literal one.

Only ``padding_mode='zeros'`` has this adjoint (the other modes make the conv's adjoint fold the
padded copies back onto the border, which conv_transpose does not do). ``padding='same'`` is
included when it is symmetric (``d*(k-1)`` even in every dimension), since the transposed conv
takes one padding per dimension; asymmetric 'same' has no transposed counterpart.
"""

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

import conv_oracle as co
from conv_oracle.oracle.literal import conv_transpose_literal

pytestmark = pytest.mark.oracle

MAX_L = {1: 9, 2: 8, 3: 5}
TINY_L = {1: 6, 2: 4, 3: 3}  # for the full-matrix check
CONV = {1: co.conv1d, 2: co.conv2d, 3: co.conv3d}
FAST_CONVT = {1: co.conv_transpose1d, 2: co.conv_transpose2d, 3: co.conv_transpose3d}


def _literal_and_fast(nd):
    """The independent literal scatter, after asserting the fast scatter agrees with it."""
    def call(y, w, **kw):
        out = conv_transpose_literal(y, w, **kw)
        assert np.array_equal(FAST_CONVT[nd](y, w, **kw), out), "fast scatter != literal scatter"
        return out
    return call


CONVT = {nd: _literal_and_fast(nd) for nd in (1, 2, 3)}


def exact_inner(a, b):
    """``<a, b>`` (sum of products, complex conjugation not involved) in Python integers."""
    assert np.array_equal(a, np.round(a)) and np.array_equal(b, np.round(b))
    return int((np.round(a).astype(np.int64).astype(object) * np.round(b).astype(np.int64).astype(object)).sum())


@st.composite
def adjoint_cases(draw, max_l=MAX_L):
    """Conv geometry, channels and a seed: padding_mode 'zeros', output length >= 1 by construction."""
    nd = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 4))
    ci_g, co_g = draw(st.integers(1, 4 // groups)), draw(st.integers(1, 4 // groups))
    batch = draw(st.none() | st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 3 if k == 1 else min(3, (max_l[nd] - 1) // (k - 1)))) for k in kernel)
    eff = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    use_same = all((e - 1) % 2 == 0 for e in eff) and draw(st.booleans())
    if use_same:
        stride = (1,) * nd
        pads = tuple((e - 1) // 2 for e in eff)
        conv_padding = "same"
    else:
        stride = tuple(draw(st.integers(1, 5)) for _ in range(nd))
        pads = tuple(draw(st.integers(0, 3)) for _ in range(nd))
        conv_padding = pads
    size = tuple(draw(st.integers(max(1, e - 2 * p), max_l[nd])) for e, p in zip(eff, pads))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    use_output_size = draw(st.booleans())
    event(f"nd={nd}")
    event("padding='same'" if use_same else "int padding")
    event("output_size" if use_output_size else "output_padding")
    if any(s > e for s, e in zip(stride, eff)):
        event("stride > effective kernel")
    elif any(s > 1 for s in stride):
        event("1 < stride <= effective kernel")
    if any(d > 1 for d in dilation):
        event("dilation > 1")
    if groups > 1:
        event("groups > 1")
    return dict(nd=nd, groups=groups, ci_g=ci_g, co_g=co_g, batch=batch, kernel=kernel, dilation=dilation,
                stride=stride, pads=pads, conv_padding=conv_padding, size=size, seed=seed,
                use_output_size=use_output_size)


@given(adjoint_cases())
def test_conv_transpose_is_adjoint_of_conv(c):
    """<conv(x, w), y> == <x, conv_transpose(y, w)> exactly, with output_padding (L + 2p - E) mod s."""
    nd = c["nd"]
    rng = np.random.default_rng(c["seed"])
    lead = () if c["batch"] is None else (c["batch"],)
    x = rng.integers(-4, 5, size=lead + (c["groups"] * c["ci_g"],) + c["size"]).astype(float)
    w = rng.integers(-4, 5, size=(c["groups"] * c["co_g"], c["ci_g"]) + c["kernel"]).astype(float)
    cx = CONV[nd](x, w, stride=c["stride"], padding=c["conv_padding"], dilation=c["dilation"], groups=c["groups"])
    y = rng.integers(-4, 5, size=cx.shape).astype(float)
    out_len = cx.shape[-nd:]
    opad = tuple((L + 2 * p - (d * (k - 1) + 1)) % s
                 for L, p, d, k, s in zip(c["size"], c["pads"], c["dilation"], c["kernel"], c["stride"]))
    assert all(a < s for a, s in zip(opad, c["stride"]))  # torch's output_padding rule always holds
    assert co.conv_transpose_output_size(out_len, c["kernel"], c["stride"], c["pads"], opad, c["dilation"]) \
        == c["size"]
    shape_arg = dict(output_size=list(c["size"])) if c["use_output_size"] else dict(output_padding=opad)
    ty = CONVT[nd](y, w, stride=c["stride"], padding=c["pads"], dilation=c["dilation"], groups=c["groups"],
                   **shape_arg)
    assert ty.shape == x.shape
    assert exact_inner(cx, y) == exact_inner(x, ty)


@given(adjoint_cases(max_l=TINY_L))
def test_adjoint_matrices_are_transposes(c):
    """The matrices are exact transposes: conv(e_i)[j] == conv_transpose(e_j)[i] for all unit vectors
    e_i (input) and e_j (conv output), on one unbatched sample. Stronger than the inner-product form,
    and it localises a failure to a single (i, j) entry."""
    nd = c["nd"]
    rng = np.random.default_rng(c["seed"])
    x_shape = (c["groups"] * c["ci_g"],) + c["size"]
    w = rng.integers(-4, 5, size=(c["groups"] * c["co_g"], c["ci_g"]) + c["kernel"]).astype(float)
    conv_kw = dict(stride=c["stride"], padding=c["conv_padding"], dilation=c["dilation"], groups=c["groups"])
    out_shape = CONV[nd](np.zeros(x_shape), w, **conv_kw).shape
    n_in, n_out = int(np.prod(x_shape)), int(np.prod(out_shape))  # tiny: n_in + n_out operator calls
    A = np.stack([CONV[nd](np.eye(n_in)[i].reshape(x_shape), w, **conv_kw).ravel() for i in range(n_in)], axis=1)
    opad = tuple((L + 2 * p - (d * (k - 1) + 1)) % s
                 for L, p, d, k, s in zip(c["size"], c["pads"], c["dilation"], c["kernel"], c["stride"]))
    B = np.stack([CONVT[nd](np.eye(n_out)[j].reshape(out_shape), w, stride=c["stride"], padding=c["pads"],
                            dilation=c["dilation"], groups=c["groups"], output_padding=opad).ravel()
                  for j in range(n_out)], axis=1)
    assert np.array_equal(A.T, B)
