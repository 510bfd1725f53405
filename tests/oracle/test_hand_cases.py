"""Hand-computed cases for the oracle: every expected value below is worked out in the comments."""

import numpy as np
import pytest

import conv_oracle as co

pytestmark = pytest.mark.oracle

# The seed case of conv-facts.md: ConvTranspose2d(1, 1, kernel_size=2, stride=4, bias=False).
SEED_X = np.array([[[[1, 2], [3, 4]]]], dtype=float)
SEED_W = np.array([[[[1, 2], [0, 1]]]], dtype=float)
SEED_OUT = np.array([[1, 2, 0, 0, 2, 4],
                     [0, 1, 0, 0, 0, 2],
                     [0, 0, 0, 0, 0, 0],
                     [0, 0, 0, 0, 0, 0],
                     [3, 6, 0, 0, 4, 8],
                     [0, 3, 0, 0, 0, 4]], dtype=float)
# Rows and columns 2 and 3 receive nothing: (2-1)*4 + 2 = 6 wide, input i writes to 4i and 4i+1.
SEED_BIAS_ONLY = np.zeros((6, 6), dtype=bool)
SEED_BIAS_ONLY[[2, 3], :] = True
SEED_BIAS_ONLY[:, [2, 3]] = True


def test_seed_case_6x6():
    """The 6x6 output of conv-facts.md: four weighted copies of the kernel, 4 apart."""
    out = co.conv_transpose2d(SEED_X, SEED_W, stride=4)
    assert out.shape == (1, 1, 6, 6)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out[0, 0], SEED_OUT)


def test_seed_case_6x6_with_bias():
    """With a bias every cell is shifted by it; the bias-only cells (rows/cols 2, 3) equal it exactly."""
    bias = np.array([0.1])  # not exactly representable: 0 + 0.1 must still be bit-identical to 0.1
    out = co.conv_transpose2d(SEED_X, SEED_W, bias, stride=4)[0, 0]
    mask = co.bias_only_output_cells((2, 2), 2, stride=4)
    np.testing.assert_array_equal(mask, SEED_BIAS_ONLY)
    assert np.all(out[mask] == 0.1)
    np.testing.assert_array_equal(out[~mask], SEED_OUT[~mask] + 0.1)


# ---------------------------------------------------------------------------------------------
# 1-D convolution by hand
# ---------------------------------------------------------------------------------------------

def test_stride_larger_than_kernel_skips_pixels():
    """x = 1..7, w = [1, 10], stride 3: L_out = (7-2)//3 + 1 = 2;
    out[0] = x0 + 10*x1 = 21, out[1] = x3 + 10*x4 = 54. Pixel 2 falls in the gap between windows,
    pixels 5 and 6 are the tail left out since (7-2) % 3 = 2."""
    x = np.arange(1, 8, dtype=float)[None, None]
    w = np.array([[[1, 10]]], dtype=float)
    np.testing.assert_array_equal(co.conv1d(x, w, stride=3)[0, 0], [21, 54])
    np.testing.assert_array_equal(co.skipped_input_pixels(7, 2, stride=3),
                                  [False, False, True, False, False, True, True])


def test_dilation():
    """x = 1..5, w = [1, 10], dilation 2: E = 3, L_out = 3, out[o] = x[o] + 10*x[o+2] = [31, 42, 53]."""
    x = np.arange(1, 6, dtype=float)[None, None]
    w = np.array([[[1, 10]]], dtype=float)
    np.testing.assert_array_equal(co.conv1d(x, w, dilation=2)[0, 0], [31, 42, 53])


def test_zero_padding():
    """x = [1, 2, 3], w = [1, 10, 100], padding 1: the padded input is [0, 1, 2, 3, 0];
    out = [0 + 10 + 200, 1 + 20 + 300, 2 + 30 + 0] = [210, 321, 32]."""
    x = np.array([[[1, 2, 3]]], dtype=float)
    w = np.array([[[1, 10, 100]]], dtype=float)
    np.testing.assert_array_equal(co.conv1d(x, w, padding=1)[0, 0], [210, 321, 32])


@pytest.mark.parametrize("mode, padded", [
    ("zeros", [0, 0, 1, 2, 3, 0, 0]),
    ("reflect", [3, 2, 1, 2, 3, 2, 1]),     # mirror about the edge element, not repeating it
    ("replicate", [1, 1, 1, 2, 3, 3, 3]),   # repeat the edge element
    ("circular", [2, 3, 1, 2, 3, 1, 2]),    # wrap around
])
def test_padding_modes_with_unit_kernel(mode, padded):
    """A 1-tap kernel w = [1] with padding 2 returns the padded input itself, x = [1, 2, 3]."""
    x = np.array([[[1, 2, 3]]], dtype=float)
    w = np.ones((1, 1, 1))
    np.testing.assert_array_equal(co.conv1d(x, w, padding=2, padding_mode=mode)[0, 0], padded)


@pytest.mark.parametrize("mode, expected", [
    ("zeros", [0 + 10, 1 + 20, 2 + 30, 3 + 0]),      # padded [0, 1, 2, 3, 0]
    ("reflect", [2 + 10, 1 + 20, 2 + 30, 3 + 20]),   # padded [2, 1, 2, 3, 2]
    ("replicate", [1 + 10, 1 + 20, 2 + 30, 3 + 30]),  # padded [1, 1, 2, 3, 3]
    ("circular", [3 + 10, 1 + 20, 2 + 30, 3 + 10]),  # padded [3, 1, 2, 3, 1]
])
def test_padding_modes_with_two_taps(mode, expected):
    """x = [1, 2, 3], w = [1, 10], padding 1: out[o] = xp[o] + 10*xp[o+1] over the padded xp."""
    x = np.array([[[1, 2, 3]]], dtype=float)
    w = np.array([[[1, 10]]], dtype=float)
    np.testing.assert_array_equal(co.conv1d(x, w, padding=1, padding_mode=mode)[0, 0], expected)


def test_same_padding_even_kernel_puts_extra_after():
    """'same', k = 2: total d*(k-1) = 1, 0 before and 1 after, so the padded input is [1, 2, 3, 4, 0]
    and out[o] = x[o] + 10*x[o+1] = [21, 32, 43, 4] (extra pad before would give [10, 21, 32, 43])."""
    x = np.array([[[1, 2, 3, 4]]], dtype=float)
    w = np.array([[[1, 10]]], dtype=float)
    np.testing.assert_array_equal(co.conv1d(x, w, padding="same")[0, 0], [21, 32, 43, 4])


def test_same_padding_dilated_even_kernel():
    """'same', k = 2, d = 3: total 3, 1 before and 2 after: padded [0, 1, 2, 3, 4, 0, 0];
    out[o] = xp[o] + 10*xp[o+3] = [0 + 30, 1 + 40, 2 + 0, 3 + 0]."""
    x = np.array([[[1, 2, 3, 4]]], dtype=float)
    w = np.array([[[1, 10]]], dtype=float)
    np.testing.assert_array_equal(co.conv1d(x, w, padding="same", dilation=3)[0, 0], [30, 41, 2, 3])


def test_valid_padding_is_zero_padding():
    """'valid' means no padding: x = [1, 2, 3], w = [1, 10] gives [21, 32]."""
    x = np.array([[[1, 2, 3]]], dtype=float)
    w = np.array([[[1, 10]]], dtype=float)
    np.testing.assert_array_equal(co.conv1d(x, w, padding="valid")[0, 0], [21, 32])


def test_groups_with_channel_multiplier():
    """C_in = 2, groups = 2, C_out = 4 (multiplier 2), k = 2, w[oc] = [oc+1, 10]:
    channels 0, 1 read input channel 0 = [1, 2, 3], channels 2, 3 read input channel 1 = [4, 5, 6]:
    oc0: [1*1 + 10*2, 1*2 + 10*3] = [21, 32],  oc1: [2*1 + 20, 2*2 + 30] = [22, 34],
    oc2: [3*4 + 50, 3*5 + 60] = [62, 75],      oc3: [4*4 + 50, 4*5 + 60] = [66, 80]."""
    x = np.array([[1, 2, 3], [4, 5, 6]], dtype=float)  # unbatched (C_in, L)
    w = np.array([[[1, 10]], [[2, 10]], [[3, 10]], [[4, 10]]], dtype=float)
    bias = np.array([0, 100, 0, 100], dtype=float)
    out = co.conv1d(x, w, bias, groups=2)
    np.testing.assert_array_equal(out, [[21, 32], [122, 134], [62, 75], [166, 180]])


def test_transposed_groups_with_channel_multiplier():
    """Transposed, C_in = 2, groups = 2, weight (2, 2, 1): input channel c feeds output channels
    2c and 2c+1 with weights w[c, 0], w[c, 1]: x = [[1, 2], [3, 4]], w = [[1, 2], [3, 4]] gives
    [[1, 2], [2, 4], [9, 12], [12, 16]]."""
    x = np.array([[1, 2], [3, 4]], dtype=float)
    w = np.array([[[1], [2]], [[3], [4]]], dtype=float)
    out = co.conv_transpose1d(x, w, groups=2)
    np.testing.assert_array_equal(out, [[1, 2], [2, 4], [9, 12], [12, 16]])


def test_transposed_stride_and_dilation():
    """x = [1, 2], w = [1, 10], stride 3, dilation 2: input i writes x[i]*w[t] to 3i + 2t:
    i=0 -> 0: 1, 2: 10; i=1 -> 3: 2, 5: 20. L_out = 1*3 + 3 = 6: [1, 0, 10, 2, 0, 20];
    cells 1 and 4 receive nothing."""
    x = np.array([[[1, 2]]], dtype=float)
    w = np.array([[[1, 10]]], dtype=float)
    np.testing.assert_array_equal(co.conv_transpose1d(x, w, stride=3, dilation=2)[0, 0], [1, 0, 10, 2, 0, 20])
    np.testing.assert_array_equal(co.bias_only_output_cells(2, 2, stride=3, dilation=2),
                                  [False, True, False, False, True, False])


def test_output_padding_reexposes_cropped_cells():
    """x = [1, 2], w = [1, 10, 100], stride 2. Uncropped scatter: i=0 writes 1, 10, 100 to 0, 1, 2;
    i=1 writes 2, 20, 200 to 2, 3, 4: full = [1, 10, 102, 20, 200].
    padding 2 crops 2 cells each side: L_out = 5 - 4 = 1 -> [102]. output_padding 1 adds one cell
    at the end, which is full[3] = 20, a cell the padding had cropped: not bias-only.
    With padding 0, output_padding 1 gives [1, 10, 102, 20, 200, 0] whose extra cell is bias-only."""
    x = np.array([[[1, 2]]], dtype=float)
    w = np.array([[[1, 10, 100]]], dtype=float)
    np.testing.assert_array_equal(co.conv_transpose1d(x, w, stride=2, padding=2)[0, 0], [102])
    np.testing.assert_array_equal(co.conv_transpose1d(x, w, stride=2, padding=2, output_padding=1)[0, 0],
                                  [102, 20])
    np.testing.assert_array_equal(co.bias_only_output_cells(2, 3, stride=2, padding=2, output_padding=1),
                                  [False, False])
    np.testing.assert_array_equal(co.conv_transpose1d(x, w, stride=2, output_padding=1)[0, 0],
                                  [1, 10, 102, 20, 200, 0])
    np.testing.assert_array_equal(co.bias_only_output_cells(2, 3, stride=2, output_padding=1),
                                  [False] * 5 + [True])


def test_output_size_selects_output_padding():
    """Same x, w as above, stride 2, padding 2: sizes 1 and 2 are the range [min, min + stride - 1];
    output_size=[2] is output_padding 1, and the full-shape form (N, C, L) means the same."""
    x = np.array([[[1, 2]]], dtype=float)
    w = np.array([[[1, 10, 100]]], dtype=float)
    np.testing.assert_array_equal(co.conv_transpose1d(x, w, stride=2, padding=2, output_size=[2])[0, 0], [102, 20])
    np.testing.assert_array_equal(co.conv_transpose1d(x, w, stride=2, padding=2, output_size=[1, 1, 2])[0, 0],
                                  [102, 20])
    np.testing.assert_array_equal(co.conv_transpose1d(x, w, stride=2, padding=2, output_size=[1])[0, 0], [102])


def test_output_padding_smaller_than_dilation_branch():
    """output_padding 2 >= stride 1 is allowed because it is < dilation 3. x = [1], w = [1, 10],
    d = 3: writes 1 to 0 and 10 to 3; L_out = 0 + 4 + 2 = 6 -> [1, 0, 0, 10, 0, 0]."""
    x = np.array([[[1]]], dtype=float)
    w = np.array([[[1, 10]]], dtype=float)
    np.testing.assert_array_equal(co.conv_transpose1d(x, w, output_padding=2, dilation=3)[0, 0],
                                  [1, 0, 0, 10, 0, 0])


# ---------------------------------------------------------------------------------------------
# Batching, dtypes, empty batch
# ---------------------------------------------------------------------------------------------

def _rng_ints(rng, shape):
    return rng.integers(-5, 6, size=shape).astype(float)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_unbatched_equals_batched_first(nd):
    """An unbatched input (C, *L) gives exactly the batched result for the batch (1, C, *L), minus the batch axis."""
    rng = np.random.default_rng(nd)
    x = _rng_ints(rng, (4,) + (5,) * nd)
    w = _rng_ints(rng, (6, 2) + (2,) * nd)
    b = _rng_ints(rng, (6,))
    conv = getattr(co, f"conv{nd}d")
    convt = getattr(co, f"conv_transpose{nd}d")
    out = conv(x, w, b, stride=2, padding=1, groups=2)
    assert out.shape == conv(x[None], w, b, stride=2, padding=1, groups=2).shape[1:]
    np.testing.assert_array_equal(out, conv(x[None], w, b, stride=2, padding=1, groups=2)[0])
    wt = _rng_ints(rng, (4, 3) + (2,) * nd)
    bt = _rng_ints(rng, (6,))
    out = convt(x, wt, bt, stride=3, padding=1, groups=2, output_padding=1)
    np.testing.assert_array_equal(out, convt(x[None], wt, bt, stride=3, padding=1, groups=2, output_padding=1)[0])


def test_complex_conv():
    """Complex arithmetic: x = [1+1j, 2], w = [1j, 1]: out[0] = 1j*(1+1j) + 2 = 1+1j; complex128 out."""
    x = np.array([[[1 + 1j, 2]]])
    w = np.array([[[1j, 1]]])
    out = co.conv1d(x, w)
    assert out.dtype == np.complex128
    np.testing.assert_array_equal(out[0, 0], [1 + 1j])


def test_complex_mixed_operands_and_transpose():
    """A real input with a complex weight and bias computes in complex128:
    x = [1, 2], w = [1j, 2], bias 1j: scatter gives [1j, 2 + 2j, 4] + 1j = [2j, 2 + 3j, 4 + 1j]."""
    x = np.array([[[1.0, 2.0]]])
    w = np.array([[[1j, 2]]])
    out = co.conv_transpose1d(x, w, np.array([1j]))
    assert out.dtype == np.complex128
    np.testing.assert_array_equal(out[0, 0], [2j, 2 + 3j, 4 + 1j])


def test_complex_equals_real_parts_combination():
    """conv is bilinear: conv(xr + i xi, wr + i wi) = (conv(xr,wr) - conv(xi,wi)) + i (conv(xr,wi) + conv(xi,wr))."""
    rng = np.random.default_rng(7)
    xr, xi = _rng_ints(rng, (2, 3, 6, 5)), _rng_ints(rng, (2, 3, 6, 5))
    wr, wi = _rng_ints(rng, (2, 3, 3, 2)), _rng_ints(rng, (2, 3, 3, 2))
    out = co.conv2d(xr + 1j * xi, wr + 1j * wi, stride=(2, 1), padding=1)
    real = co.conv2d(xr, wr, stride=(2, 1), padding=1) - co.conv2d(xi, wi, stride=(2, 1), padding=1)
    imag = co.conv2d(xr, wi, stride=(2, 1), padding=1) + co.conv2d(xi, wr, stride=(2, 1), padding=1)
    np.testing.assert_array_equal(out, real + 1j * imag)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32, np.int64])
def test_integer_dtypes_compute_in_float64(dtype):
    """Integer operands are accepted and computed in float64: no integer wrap-around.
    x = [100, 100, 100], w = [100, 100] (int8 would wrap at 127): out = [20000, 20000]."""
    x = np.array([[[100, 100, 100]]], dtype=dtype)
    w = np.array([[[100, 100]]], dtype=dtype)
    out = co.conv1d(x, w)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out[0, 0], [20000, 20000])
    out = co.conv_transpose1d(x, w, np.array([1], dtype=dtype))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out[0, 0], [10001, 20001, 20001, 10001])


def test_int64_beyond_float32_precision():
    """2**40 + 1 is exact in float64 (not in float32): the oracle keeps it."""
    x = np.array([[[2 ** 40 + 1, 0]]], dtype=np.int64)
    w = np.array([[[1, 1]]], dtype=np.int64)
    assert co.conv1d(x, w)[0, 0, 0] == 2 ** 40 + 1


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_empty_batch(nd):
    """N = 0 is accepted and gives an empty batch of the right shape."""
    x = np.zeros((0, 2) + (5,) * nd)
    conv = getattr(co, f"conv{nd}d")
    convt = getattr(co, f"conv_transpose{nd}d")
    out = conv(x, np.ones((3, 2) + (2,) * nd), np.ones(3), stride=2)
    assert out.shape == (0, 3) + (2,) * nd
    out = convt(x, np.ones((2, 3) + (2,) * nd), np.ones(3), stride=2)
    assert out.shape == (0, 3) + (10,) * nd


# ---------------------------------------------------------------------------------------------
# Non-finite values
# ---------------------------------------------------------------------------------------------

def test_nonfinite_on_skipped_pixels_never_reaches_conv_output_1d():
    """x = 1..7, w = [1, 10], stride 3 skips pixels 2, 5, 6: NaN / +-Inf there leave [21, 54] unchanged,
    while NaN on a read pixel (0) does reach the output (so the check can fail)."""
    x = np.arange(1, 8, dtype=float)[None, None]
    w = np.array([[[1, 10]]], dtype=float)
    poisoned = x.copy()
    poisoned[0, 0, [2, 5, 6]] = [np.nan, np.inf, -np.inf]
    np.testing.assert_array_equal(co.conv1d(poisoned, w, stride=3)[0, 0], [21, 54])
    poisoned[0, 0, 0] = np.nan
    out = co.conv1d(poisoned, w, stride=3)[0, 0]
    assert np.isnan(out[0]) and out[1] == 54


def test_nonfinite_on_skipped_pixels_never_reaches_conv_output_2d():
    """2-D, stride (3, 4) > kernel (2, 2), dilation (1, 2), padding (1, 0), reflect and zeros:
    every skipped pixel set to NaN / Inf leaves the output bit-identical."""
    rng = np.random.default_rng(3)
    x = _rng_ints(rng, (2, 2, 9, 11))
    w = _rng_ints(rng, (3, 2, 2, 2))
    b = _rng_ints(rng, (3,))
    for mode in ("zeros", "reflect"):
        kwargs = dict(stride=(3, 4), padding=(1, 0), dilation=(1, 2), padding_mode=mode)
        skipped = co.skipped_input_pixels((9, 11), (2, 2), **kwargs)
        assert skipped.any() and not skipped.all()
        poisoned = x.copy()
        poisoned[:, :, skipped] = np.where(rng.random(skipped.sum()) < 0.5, np.nan, np.inf)
        np.testing.assert_array_equal(co.conv2d(poisoned, w, b, **kwargs), co.conv2d(x, w, b, **kwargs))


def test_nonfinite_never_reaches_bias_only_cells():
    """The 6x6 case with NaN in the input and Inf in the weight: every touched cell becomes non-finite,
    the bias-only cells (rows/cols 2, 3) stay exactly the bias."""
    x = SEED_X.copy()
    x[0, 0, 0, 0] = np.nan
    x[0, 0, 1, 1] = -np.inf
    w = SEED_W.copy()
    w[0, 0, 1, 0] = np.inf  # the 0 tap: Inf * finite there, and Inf * NaN
    out = co.conv_transpose2d(x, w, np.array([-2.5]), stride=4)[0, 0]
    assert np.all(out[SEED_BIAS_ONLY] == -2.5)
    assert np.isnan(out[0, 0]) and np.isinf(out[5, 4])  # the poison does spread to touched cells


def test_nonfinite_never_reaches_bias_only_cells_with_padding_and_groups():
    """1-D transposed conv, stride 4, k = 2, dilation 2, padding 1, output_padding 3, groups 2:
    all-NaN input and all-Inf weight; bias-only cells keep the bias, touched cells are NaN/Inf."""
    x = np.full((1, 4, 3), np.nan)
    w = np.full((4, 1, 2), np.inf)
    b = np.array([1.0, 2.0])
    out = co.conv_transpose1d(x, w, b, stride=4, padding=1, dilation=2, output_padding=3, groups=2)[0]
    mask = co.bias_only_output_cells(3, 2, stride=4, padding=1, dilation=2, output_padding=3)
    # full scatter positions 4i + 2t for i in 0..2, t in 0..1: {0, 2, 4, 6, 8, 10}; minus padding 1:
    # {-1, 1, 3, 5, 7, 9}; L_out = 2*4 - 2 + 3 + 3 = 12: touched 1, 3, 5, 7, 9.
    np.testing.assert_array_equal(np.flatnonzero(~mask), [1, 3, 5, 7, 9])
    np.testing.assert_array_equal(out[:, mask], np.broadcast_to(b[:, None], (2, mask.sum())))
    assert np.isnan(out[:, ~mask]).all()
