"""Convolution as a gather: every output cell reads its window.

``out[n, g*Co + o, y] = bias[g*Co + o] + sum_{c, t} x[n, g*Ci + c, y*s - p + t*d] * w[g*Co + o, c, t]``
(``y``, ``t`` multi-indices; terms outside the input are zero padding, or copies for the other
padding modes). Loops over kernel taps only; each tap is one batched matrix product (a broadcast
product with one input channel per group, :func:`arrays.apply_tap`) over
(batch, group, positions), restricted by :func:`geometry.tap_span` to the outputs whose input
index exists, so padding never enters the sum and cells outside a window are never read.
Tiles of the batch, groups and output channels run on the oracle's workers (:mod:`.threads`).
"""

from __future__ import annotations

import math

import numpy as np

from .. import geometry
from ..validation import ConvConfig
from .arrays import apply_tap, grouped_taps
from .threads import plan_tiles, run_tiles


def _pad_copies(x: np.ndarray, cfg: ConvConfig) -> np.ndarray:
    """Materialise reflect / replicate / circular padding (zeros stays implicit)."""
    for axis, (L, (pb, pa)) in enumerate(zip(cfg.input_size, cfg.padding)):
        x = np.take(x, geometry.padded_source_index(L, pb, pa, cfg.padding_mode), axis=x.ndim - cfg.nd + axis)
    return x


def gather(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, cfg: ConvConfig) -> np.ndarray:
    """Batched conv of ``x`` ``(N, C_in, *L)`` with a validated ``cfg``; returns ``(N, C_out, *L_out)``."""
    nd, G = cfg.nd, cfg.groups
    n = x.shape[0]
    if cfg.padding_mode != "zeros":
        x = _pad_copies(x, cfg)
        offsets_pad = (0,) * nd
    else:
        offsets_pad = cfg.padding_before
    size = x.shape[2:]
    out_size = cfg.output_size
    ci, co = cfg.in_channels // G, cfg.out_channels // G
    xg = x.reshape((n, G, ci) + size)
    taps = grouped_taps(weight, G, transposed=False)
    out = np.zeros((n, G, co) + out_size, dtype=x.dtype)
    # (tap, outputs it contributes to, the input window they read): one strided slice each
    reads = list(geometry.tap_slices(cfg.kernel_size, cfg.stride, cfg.dilation, offsets_pad, out_size, size))

    def run_taps(rows: slice, groups: slice, chans: slice) -> None:  # every tap over one tile
        x_tile, out_tile = xg[rows, groups], out[rows, groups, chans]
        for tap, out_slices, in_slices in reads:
            out_tile[out_slices] += apply_tap(taps[tap][groups, chans], x_tile[in_slices])  # (G, co, ci) . (n, G, ci, *span)

    # Tiles (samples x groups x output channels) go to the oracle's workers (threads.py);
    # depthwise tiles are cache-sized, so that every tap passes over data still in cache.
    work = n * G * co * ci * math.prod(cfg.kernel_size) * math.prod(out_size)
    run_tiles(run_taps, plan_tiles(n, G, co, work, x.itemsize * (xg[:1, :1].size + out[:1, :1].size), ci == 1))
    out = out.reshape((n, cfg.out_channels) + out_size)
    if bias is not None:
        out += bias.reshape((1, -1) + (1,) * nd)
    return out
