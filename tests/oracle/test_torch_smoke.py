"""Smoke comparison of the oracle with torch (CPU, float64, small-integer operands: exact).

A handful of configurations only; the differential suite proper lives elsewhere. This checks that
the oracle's conventions (weight layouts, padding modes, 'same', output_size) are torch's.
"""

import numpy as np
import pytest

import conv_oracle as co

torch = pytest.importorskip("torch")
F = torch.nn.functional

pytestmark = pytest.mark.oracle


def ints(rng, shape):
    return rng.integers(-4, 5, size=shape).astype(np.float64)


def t(a):
    return None if a is None else torch.from_numpy(a)


def test_seed_case_6x6_against_conv_transpose2d_module():
    """nn.ConvTranspose2d(1, 1, 2, stride=4, bias=False) on the seed case gives the oracle's 6x6 output."""
    x = np.array([[[[1.0, 2], [3, 4]]]])
    w = np.array([[[[1.0, 2], [0, 1]]]])
    module = torch.nn.ConvTranspose2d(1, 1, kernel_size=2, stride=4, bias=False).double()
    with torch.no_grad():
        module.weight.copy_(t(w))
        expected = module(t(x)).numpy()
    out = co.conv_transpose2d(x, w, stride=4)
    assert expected.shape == (1, 1, 6, 6)
    assert np.array_equal(out, expected)


CONV2D_CONFIGS = [
    dict(in_ch=3, out_ch=4, size=(7, 6), kernel_size=(3, 2), stride=(2, 1), padding=(2, 1), dilation=(1, 2), groups=1),
    dict(in_ch=2, out_ch=4, size=(9, 8), kernel_size=2, stride=4, padding=1, dilation=1, groups=2),  # stride > kernel
    dict(in_ch=2, out_ch=6, size=(5, 6), kernel_size=(2, 3), stride=1, padding="same", dilation=(3, 1), groups=2),
    dict(in_ch=4, out_ch=4, size=(6, 6), kernel_size=3, stride=(1, 3), padding="valid", dilation=1, groups=4),
]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("cfg", CONV2D_CONFIGS, ids=["dilated", "stride>kernel-grouped", "same-multiplier",
                                                      "depthwise-valid"])
def test_conv2d_module_every_padding_mode(cfg, mode):
    """nn.Conv2d(padding_mode=mode) forward == oracle conv2d, bias included, bit for bit."""
    rng = np.random.default_rng(len(mode) * 100 + cfg["in_ch"] * 10 + cfg["out_ch"])
    module = torch.nn.Conv2d(cfg["in_ch"], cfg["out_ch"], cfg["kernel_size"], cfg["stride"], cfg["padding"],
                             cfg["dilation"], cfg["groups"], True, mode).double()
    x = ints(rng, (2, cfg["in_ch"]) + cfg["size"])
    w = ints(rng, tuple(module.weight.shape))
    b = ints(rng, (cfg["out_ch"],))
    with torch.no_grad():
        module.weight.copy_(t(w))
        module.bias.copy_(t(b))
        expected = module(t(x)).numpy()
    out = co.conv2d(x, w, b, cfg["stride"], cfg["padding"], cfg["dilation"], cfg["groups"], mode)
    assert out.shape == expected.shape
    assert np.array_equal(out, expected)


@pytest.mark.parametrize("output_size", [[7, 8], [9, 12], [8, 10], [1, 4, 9, 8]])
def test_conv_transpose2d_module_output_size(output_size):
    """nn.ConvTranspose2d.forward(x, output_size) == oracle with the same output_size: sizes at both
    ends of [min, min + stride - 1] (here [7, 9] x [8, 12]) and the full-shape form."""
    rng = np.random.default_rng(sum(output_size))
    module = torch.nn.ConvTranspose2d(2, 4, kernel_size=(3, 2), stride=(3, 5), padding=(1, 0), groups=2,
                                      dilation=(1, 2)).double()
    x = ints(rng, (1, 2, 3, 2))
    w = ints(rng, tuple(module.weight.shape))
    b = ints(rng, (4,))
    with torch.no_grad():
        module.weight.copy_(t(w))
        module.bias.copy_(t(b))
        expected = module(t(x), output_size=output_size).numpy()
    out = co.conv_transpose2d(x, w, b, stride=(3, 5), padding=(1, 0), groups=2, dilation=(1, 2),
                              output_size=output_size)
    assert np.array_equal(out, expected)


@pytest.mark.parametrize("kw", [
    dict(stride=3, padding=1, dilation=2, groups=1),
    dict(stride=1, padding="same", dilation=2, groups=2),
    dict(stride=5, padding=0, dilation=1, groups=2),
])
def test_conv1d_functional(kw):
    """F.conv1d == oracle conv1d (batched and unbatched)."""
    rng = np.random.default_rng(1)
    x, w, b = ints(rng, (3, 4, 11)), ints(rng, (6, 4 // kw["groups"], 3)), ints(rng, (6,))
    expected = F.conv1d(t(x), t(w), t(b), **kw).numpy()
    assert np.array_equal(co.conv1d(x, w, b, **kw), expected)
    assert np.array_equal(co.conv1d(x[0], w, b, **kw), F.conv1d(t(x[0]), t(w), t(b), **kw).numpy())


@pytest.mark.parametrize("kw", [
    dict(stride=3, padding=1, output_padding=2, dilation=1, groups=1),
    dict(stride=1, padding=2, output_padding=2, dilation=3, groups=2),  # output_padding >= stride, < dilation
    dict(stride=4, padding=0, output_padding=0, dilation=1, groups=4),  # stride > kernel: bias-only cells
])
def test_conv_transpose1d_functional(kw):
    """F.conv_transpose1d == oracle conv_transpose1d."""
    rng = np.random.default_rng(2)
    x, w, b = ints(rng, (2, 4, 5)), ints(rng, (4, 2, 2)), ints(rng, (2 * kw["groups"],))
    expected = F.conv_transpose1d(t(x), t(w), t(b), **kw).numpy()
    assert np.array_equal(co.conv_transpose1d(x, w, b, **kw), expected)


@pytest.mark.parametrize("kw", [
    dict(stride=(1, 2, 3), padding=(1, 0, 2), dilation=(2, 1, 1), groups=1),
    dict(stride=1, padding="same", dilation=1, groups=2),
])
def test_conv3d_functional(kw):
    """F.conv3d == oracle conv3d."""
    rng = np.random.default_rng(3)
    x, w, b = ints(rng, (2, 2, 5, 6, 7)), ints(rng, (4, 2 // kw["groups"], 2, 3, 2)), ints(rng, (4,))
    expected = F.conv3d(t(x), t(w), t(b), **kw).numpy()
    assert np.array_equal(co.conv3d(x, w, b, **kw), expected)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv3d_module_padding_modes(mode):
    """nn.Conv3d with each padding_mode == oracle conv3d."""
    rng = np.random.default_rng(4)
    module = torch.nn.Conv3d(2, 2, (2, 3, 2), stride=(2, 1, 3), padding=(1, 2, 1), bias=False,
                             padding_mode=mode).double()
    x, w = ints(rng, (1, 2, 4, 5, 6)), ints(rng, tuple(module.weight.shape))
    with torch.no_grad():
        module.weight.copy_(t(w))
        expected = module(t(x)).numpy()
    assert np.array_equal(co.conv3d(x, w, None, (2, 1, 3), (1, 2, 1), padding_mode=mode), expected)


def test_conv_transpose3d_functional():
    """F.conv_transpose3d == oracle conv_transpose3d, strides above and below the kernel."""
    rng = np.random.default_rng(5)
    kw = dict(stride=(3, 1, 2), padding=(0, 1, 1), output_padding=(2, 0, 1), groups=2, dilation=(1, 2, 1))
    x, w, b = ints(rng, (2, 2, 3, 4, 3)), ints(rng, (2, 2, 2, 2, 3)), ints(rng, (4,))
    expected = F.conv_transpose3d(t(x), t(w), t(b), **kw).numpy()
    assert np.array_equal(co.conv_transpose3d(x, w, b, **kw), expected)


def test_complex_conv2d():
    """Complex128 operands: torch's complex conv2d == the oracle's."""
    rng = np.random.default_rng(6)
    x = ints(rng, (1, 2, 5, 5)) + 1j * ints(rng, (1, 2, 5, 5))
    w = ints(rng, (3, 2, 2, 2)) + 1j * ints(rng, (3, 2, 2, 2))
    expected = F.conv2d(t(x), t(w), stride=2, padding=1).numpy()
    assert np.array_equal(co.conv2d(x, w, stride=2, padding=1), expected)
