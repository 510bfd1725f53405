"""A second transposed convolution, written independently of the fast engine: a literal scatter.

For every kernel tap ``t`` and every input position ``i`` (all positions at once, as index
arrays) the target ``j = i*s - p + t*d`` is computed from the definition, positions with ``j``
outside ``[0, L_out)`` are dropped, and ``x[n, g*Ci + c, i] * w[g*Ci + c, o, t]`` (summed over
``c``) is added at ``out[n, g*Co + o, j]`` with an unbuffered ``np.add.at``. ``L_out = (L - 1)*s -
2p + d*(k - 1) + 1 + a`` is computed here too. It shares nothing with :mod:`.scatter` /
:mod:`.gather` (no ``geometry.tap_slices``, no ``arrays.apply_tap``): the oracle's tests check the
fast engine against it, and the adjoint test pairs it with the fast gather. Slower; for tests.
Only the validated parameters come from :mod:`conv_oracle.definition.validation`.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..definition.validation import conv_transpose_config
from .arrays import as_working, shape_of, working_dtype


def conv_transpose_literal(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1,
                           output_size=None) -> np.ndarray:
    """Same contract as :func:`conv_oracle.conv_transpose2d` (any ``nd``, from ``weight``)."""
    nd = np.ndim(weight) - 2
    cfg = conv_transpose_config(shape_of(input), shape_of(weight), shape_of(bias), stride, padding, output_padding,
                                groups, dilation, output_size, nd=nd)
    dtype = working_dtype(input, weight, bias)
    x, w, b = (as_working(a, dtype) for a in (input, weight, bias))
    if not cfg.batched:
        x = x[np.newaxis]
    n, G, L = x.shape[0], cfg.groups, x.shape[2:]
    ci = x.shape[1] // G
    co = w.shape[1]
    s, p, d, k, a = cfg.stride, cfg.padding_before, cfg.dilation, w.shape[2:], cfg.output_padding
    out_len = tuple((L[ax] - 1) * s[ax] - 2 * p[ax] + d[ax] * (k[ax] - 1) + 1 + a[ax] for ax in range(nd))
    out = np.zeros((n, G, co) + out_len, dtype=dtype)
    if b is not None:
        out += b.reshape((1, G, co) + (1,) * nd)
    xg = x.reshape((n, G, ci) + L)
    wg = w.reshape((G, ci, co) + k)
    positions = np.indices(L).reshape(nd, -1)  # every input position i, one column each
    for t in itertools.product(*(range(kk) for kk in k)):
        j = [positions[ax] * s[ax] - p[ax] + t[ax] * d[ax] for ax in range(nd)]
        keep = np.all([(0 <= j[ax]) & (j[ax] < out_len[ax]) for ax in range(nd)], axis=0)
        src = tuple(positions[ax][keep] for ax in range(nd))
        dst = tuple(j[ax][keep] for ax in range(nd))
        values = xg[(slice(None),) * 3 + src]  # (n, G, ci, m)
        contribution = np.einsum("ngcm,gco->ngom", values, wg[(Ellipsis,) + t])
        np.add.at(out, (slice(None),) * 3 + dst, contribution)
    out = out.reshape((n, G * co) + out_len)
    return out if cfg.batched else out[0]
