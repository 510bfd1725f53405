"""Gradients of both operators, from their definitions (numpy, for checking autograd).

For ``out = conv(x, w, b)`` and an output gradient ``gy``:
``gx[i] = sum_{o,t: o*s - p + t*d = i} gy[o] w[t]`` (scatter of gy, folded back through padding
copies), ``gw[t] = sum_{n,o} gy[o] x[o*s - p + t*d]``, ``gb = sum gy``.
For ``out = conv_transpose(x, w, b)``: ``gx[i] = sum_t gy[i*s - p + t*d] w[t]`` (a gather of gy),
``gw[t] = sum_{n,i} x[i] gy[i*s - p + t*d]``, ``gb = sum gy``. Every sum runs per kernel tap over the
:func:`geometry.tap_span` of that tap, the same spans the operators use.

Under IEEE arithmetic (a non-finite ``gy``): a sum over no terms is exactly 0 (a pixel no output reads);
zero padding is part of a conv's input, so ``gw`` of a conv also holds the terms ``gy[o] * 0`` of the
taps over the padding (Inf * 0 = NaN). A transposed conv's cropped cells are not part of its output, so
they add no term.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..definition import geometry
from ..definition.validation import ConvConfig
from .arrays import ieee
from .gather import gather
from .scatter import scatter
from .threads import owns_threads


def _weight_grad(src_arr, dst_arr, cfg: ConvConfig, src_channels, dst_channels, pads):
    """``gw[g, a, b, t] = sum_{n, src} A[n, g, a, src] * B[n, g, b, src*s + t*d - p]``."""
    G = cfg.groups
    n = src_arr.shape[0]
    a_g, b_g = src_channels // G, dst_channels // G
    A = src_arr.reshape((n, G, a_g) + src_arr.shape[2:])
    B = dst_arr.reshape((n, G, b_g) + dst_arr.shape[2:])
    out = np.zeros(tuple(cfg.kernel_size) + (G, a_g, b_g), dtype=np.result_type(src_arr, dst_arr))
    for tap, src, dst in geometry.tap_slices(cfg.kernel_size, cfg.stride, cfg.dilation, pads, A.shape[3:],
                                             B.shape[3:]):
        a, b = A[src], B[dst]
        P = int(np.prod(a.shape[3:]))
        a, b = a.reshape(n, G, a_g, P), b.reshape(n, G, b_g, P)
        out[tap] = np.matmul(a, b.swapaxes(-1, -2)).sum(axis=0)
    return out


@owns_threads
@ieee
def conv_grads(x: np.ndarray, w: np.ndarray, gy: np.ndarray, cfg: ConvConfig):
    """``(grad_input, grad_weight, grad_bias)`` of a batched conv with validated ``cfg``."""
    nd, G = cfg.nd, cfg.groups
    pads = cfg.padding_before if cfg.padding_mode == "zeros" else (0,) * nd
    xp = x
    if cfg.padding_mode != "zeros":
        for axis, (L, (pb, pa)) in enumerate(zip(cfg.input_size, cfg.padding)):
            xp = np.take(xp, geometry.padded_source_index(L, pb, pa, cfg.padding_mode), axis=2 + axis)
    size = xp.shape[2:]
    # Input gradient: scatter gy through the same taps onto the (padded) input, then fold copies back.
    tcfg = replace(cfg, transposed=True, in_channels=cfg.out_channels, out_channels=cfg.in_channels,
                   input_size=cfg.output_size, output_size=size, padding=tuple((p, p) for p in pads))
    w_t = w.reshape((G, cfg.out_channels // G, cfg.in_channels // G) + w.shape[2:])
    w_t = w_t.reshape((cfg.out_channels, cfg.in_channels // G) + w.shape[2:])
    gxp = scatter(gy, w_t, None, tcfg)
    gx = gxp
    if cfg.padding_mode != "zeros":
        for axis, (L, (pb, pa)) in enumerate(zip(cfg.input_size, cfg.padding)):
            idx = geometry.padded_source_index(L, pb, pa, cfg.padding_mode)
            folded = np.zeros(gx.shape[:2 + axis] + (L,) + gx.shape[3 + axis:], dtype=gx.dtype)
            np.add.at(folded, (slice(None),) * (2 + axis) + (idx,), gx)
            gx = folded
    # Weight gradient: gw[o, c, t] = sum gy[n, o, y] * x[n, c, y*s - p + t*d]
    if cfg.padding_mode == "zeros" and any(p for pair in cfg.padding for p in pair) and not np.isfinite(gy).all():
        # the padding's zeros are terms too: gy * 0 is NaN where gy is infinite (finite gy: they add nothing)
        xp, pads = np.pad(xp, [(0, 0), (0, 0)] + [tuple(p) for p in cfg.padding]), (0,) * nd
    gw = _weight_grad(gy, xp, cfg, cfg.out_channels, cfg.in_channels, pads)  # (*k, G, co, ci)
    gw = np.moveaxis(gw, tuple(range(nd)), tuple(range(3, 3 + nd))).reshape(w.shape)
    gb = gy.sum(axis=(0,) + tuple(range(2, 2 + nd)))
    return gx, gw, gb


@owns_threads
@ieee
def conv_transpose_grads(x: np.ndarray, w: np.ndarray, gy: np.ndarray, cfg: ConvConfig):
    """``(grad_input, grad_weight, grad_bias)`` of a batched transposed conv with validated ``cfg``."""
    nd = cfg.nd
    # Input gradient: each input cell gathers gy at the cells its taps wrote.
    ccfg = replace(cfg, transposed=False, in_channels=cfg.out_channels, out_channels=cfg.in_channels,
                   input_size=cfg.output_size, output_size=cfg.input_size, padding_mode="zeros")
    gx = gather(gy, w, None, ccfg)
    gw = _weight_grad(x, gy, cfg, cfg.in_channels, cfg.out_channels, cfg.padding_before)  # (*k, G, ci, co)
    gw = np.moveaxis(gw, tuple(range(nd)), tuple(range(3, 3 + nd))).reshape(w.shape)
    gb = gy.sum(axis=(0,) + tuple(range(2, 2 + nd)))
    return gx, gw, gb
