"""Transposed convolution as a scatter: every input cell adds a weighted copy of the kernel.

``out`` starts at the bias everywhere; then for every input ``i`` and tap ``t``:
``out[n, g*Co + o, i*s - p + t*d] += x[n, g*Ci + c, i] * w[g*Ci + c, o, t]`` (targets outside the
output are dropped). Loops over kernel taps only: a tap sends the inputs of one
:func:`geometry.tap_span` to one strided slice of the output, a batched matrix product over
(batch, group, positions); depthwise operators go through the batch in cache-sized chunks.
Cells no tap reaches are never written, so they keep the bias exactly.
"""

from __future__ import annotations

import math

import numpy as np

from ..definition import geometry
from ..definition.validation import ConvConfig
from .arrays import apply_tap, grouped_taps
from .threads import plan_tiles, run_tiles


def scatter(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, cfg: ConvConfig) -> np.ndarray:
    """Batched transposed conv of ``x`` ``(N, C_in, *L)`` with a validated ``cfg``."""
    nd, G = cfg.nd, cfg.groups
    n = x.shape[0]
    ci, co = cfg.in_channels // G, cfg.out_channels // G
    out = np.zeros((n, G, co) + cfg.output_size, dtype=x.dtype)
    if bias is not None:
        out += bias.reshape((1, G, co) + (1,) * nd)
    xg = x.reshape((n, G, ci) + cfg.input_size)
    taps = grouped_taps(weight, G, transposed=True)
    # (tap, the inputs it sends, the output cells they land on): one strided slice each
    writes = list(geometry.tap_slices(cfg.kernel_size, cfg.stride, cfg.dilation, cfg.padding_before,
                                      cfg.input_size, cfg.output_size))

    def run_taps(rows: slice, groups: slice, chans: slice) -> None:  # every tap over one tile
        x_tile, out_tile = xg[rows, groups], out[rows, groups, chans]
        for tap, in_slices, out_slices in writes:
            out_tile[out_slices] += apply_tap(taps[tap][groups, chans], x_tile[in_slices])  # (G, co, ci) . (n, G, ci, *span)

    # Tiles (samples x groups x output channels) go to the oracle's workers (threads.py);
    # depthwise tiles are cache-sized, so that every tap passes over data still in cache.
    work = n * G * co * ci * math.prod(cfg.kernel_size) * math.prod(cfg.input_size)
    run_tiles(run_taps, plan_tiles(n, G, co, work, x.itemsize * (xg[:1, :1].size + out[:1, :1].size), ci == 1))
    return out.reshape((n, cfg.out_channels) + cfg.output_size)
