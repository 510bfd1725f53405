"""Convolution as a gather: every output cell reads its window.

``out[n, g*Co + o, y] = bias[g*Co + o] + sum_{c, t} x[n, g*Ci + c, y*s - p + t*d] * w[g*Co + o, c, t]``
(``y``, ``t`` multi-indices; terms outside the input are zero padding, or copies for the other
padding modes). Loops over kernel taps only; each tap is one batched matrix product (a broadcast
product with one input channel per group, :func:`arrays.apply_tap`) over
(batch, group, positions), restricted by :func:`geometry.tap_span` to the outputs whose input
index exists, so padding never enters the sum and cells outside a window are never read.
Depthwise operators go through the batch in cache-sized chunks (:func:`arrays.batch_chunks`).
"""

from __future__ import annotations

import numpy as np

from .. import geometry
from ..validation import ConvConfig
from .arrays import apply_tap, batch_chunks, for_each_chunk, grouped_taps


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

    def run_taps(rows: slice) -> None:  # every tap over the samples ``rows``
        x_rows, out_rows = xg[rows], out[rows]
        for tap, out_slices, in_slices in reads:
            out_rows[out_slices] += apply_tap(taps[tap], x_rows[in_slices])  # (G, co, ci) . (n, G, ci, *span)

    # Depthwise: all taps pass over one cache-sized chunk of the batch at a time (same sums, same order).
    for_each_chunk(run_taps, batch_chunks(n, x.itemsize * (xg[:1].size + out[:1].size), ci))
    out = out.reshape((n, cfg.out_channels) + out_size)
    if bias is not None:
        out += bias.reshape((1, -1) + (1,) * nd)
    return out
