"""Public numpy reference operators, mirroring ``torch.nn.functional``'s names and argument order.

Arrays in, arrays out; computation in float64 (complex128 for complex operands), so
integer-valued operands give exact results. Non-finite operands and overflow give what IEEE
arithmetic gives for each sum of products (Inf * 0 is NaN, as the definition says), silently: numpy
warns of none of it, as torch does not. Unbatched inputs (no batch axis) are accepted
as torch accepts them. Invalid configurations raise :class:`~conv_oracle.ConvConfigError`.
"""

from __future__ import annotations

import numpy as np

from ..definition.validation import conv_config, conv_transpose_config
from .arrays import as_working, ieee, shape_of, working_dtype
from .gather import gather
from .scatter import scatter
from .threads import owns_threads


@owns_threads
@ieee
def _run(kernel_fn, cfg, input, weight, bias) -> np.ndarray:
    dtype = working_dtype(input, weight, bias)
    x, w, b = (as_working(a, dtype) for a in (input, weight, bias))
    if not cfg.batched:
        x = x[np.newaxis]
    out = kernel_fn(x, w, b, cfg)
    return out if cfg.batched else out[0]


def conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros",
         *, nd: int) -> np.ndarray:
    """``nd``-dimensional convolution (gather definition); see :func:`conv2d`."""
    cfg = conv_config(shape_of(input), shape_of(weight), shape_of(bias), stride, padding, dilation, groups,
                      padding_mode, nd=nd)
    return _run(gather, cfg, input, weight, bias)


def conv_transpose(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1,
                   output_size=None, *, nd: int) -> np.ndarray:
    """``nd``-dimensional transposed convolution (scatter definition); see :func:`conv_transpose2d`."""
    cfg = conv_transpose_config(shape_of(input), shape_of(weight), shape_of(bias), stride, padding,
                                output_padding, groups, dilation, output_size, nd=nd)
    return _run(scatter, cfg, input, weight, bias)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """1-D convolution: input ``(N, C_in, L)`` or ``(C_in, L)``, weight ``(C_out, C_in/groups, k)``."""
    return conv(input, weight, bias, stride, padding, dilation, groups, padding_mode, nd=1)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """2-D convolution (cross-correlation), the gather definition per output cell ``y``:

    ``out[n, o, y] = bias[o] + sum_{c, t} x[n, c, y*s - p + t*d] * w[o, c, t]``

    ``padding``: int, tuple, ``'valid'`` or ``'same'`` (stride 1 only; odd totals put the extra
    cell after). ``padding_mode``: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``,
    as ``nn.Conv2d``. Input ``(N, C_in, H, W)`` or ``(C_in, H, W)``.
    """
    return conv(input, weight, bias, stride, padding, dilation, groups, padding_mode, nd=2)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """3-D convolution: input ``(N, C_in, D, H, W)`` or unbatched, weight ``(C_out, C_in/groups, kD, kH, kW)``."""
    return conv(input, weight, bias, stride, padding, dilation, groups, padding_mode, nd=3)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1,
                     output_size=None):
    """1-D transposed convolution: weight ``(C_in, C_out/groups, k)``."""
    return conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, output_size, nd=1)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1,
                     output_size=None):
    """2-D transposed convolution, the scatter definition: ``out`` starts at ``bias``, then

    ``out[n, o, i*s - p + t*d] += x[n, c, i] * w[c, o, t]`` for every input ``i`` and tap ``t``.

    ``output_size`` (2 sizes, or the full shape) behaves as in ``nn.ConvTranspose2d.forward``:
    each size must lie in ``[min, min + stride - 1]`` and sets ``output_padding = size - min``.
    """
    return conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, output_size, nd=2)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1,
                     output_size=None):
    """3-D transposed convolution: weight ``(C_in, C_out/groups, kD, kH, kW)``."""
    return conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, output_size, nd=3)
