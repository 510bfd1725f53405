"""Convolution as a gather: every output cell reads its window.

``out[n, g*Co + o, y] = bias[g*Co + o] + sum_{c, t} x[n, g*Ci + c, y*s - p + t*d] * w[g*Co + o, c, t]``
(``y``, ``t`` multi-indices; terms outside the input are zero padding, or copies for the other
padding modes). Loops over kernel taps only; each tap is one batched matrix product (a broadcast
product with one input channel per group, :func:`arrays.apply_tap`) over
(batch, group, positions), restricted by :func:`geometry.tap_span` to the outputs whose input
index exists, so cells outside a window are never read and zero padding stays implicit (a finite
weight times a padding zero adds nothing; a non-finite weight gets the zeros materialised: inf * 0 = NaN).
Tiles of the batch, groups and output channels run on the oracle's workers (:mod:`.threads`).

Depthwise with stride 1 (and finite weights) takes :func:`_flat_taps` instead: on a padded copy
with its spatial axes flattened, each tap reads one contiguous shifted range, so the broadcast
products run as long loops rather than one short loop per output row. Same taps, same order.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..definition import geometry
from ..definition.validation import ConvConfig
from .arrays import apply_tap, grouped_taps
from .threads import plan_tiles, run_tiles


def _pad_copies(x: np.ndarray, cfg: ConvConfig) -> np.ndarray:
    """Materialise reflect / replicate / circular padding (zeros stays implicit)."""
    for axis, (L, (pb, pa)) in enumerate(zip(cfg.input_size, cfg.padding)):
        x = np.take(x, geometry.padded_source_index(L, pb, pa, cfg.padding_mode), axis=x.ndim - cfg.nd + axis)
    return x


def _flat_taps(xg: np.ndarray, taps: np.ndarray, out: np.ndarray, cfg: ConvConfig, pads, kernel_size):
    """Tile worker for depthwise, stride-1 convs (one input channel per group).

    With ``Sp`` the padded sizes and ``f(y) = sum_a y_a * prod(Sp[a+1:])`` the flat index of the
    padded input, ``out[y] = sum_t w[t] * xpad_flat[f(y) + f(t*d)]``: accumulated over the range
    ``[0, f(L_out - 1)]`` (cells with ``y_a >= L_out_a`` in between are computed and cropped) from
    a per-tile zero-padded copy. Every term of the definition is added, in tap order; the extra
    terms are products with padding zeros (finite weights only: no ``inf * 0``)."""
    nd = cfg.nd
    size, out_size = xg.shape[3:], out.shape[3:]
    padded = tuple(L + pb + pa for L, (pb, pa) in zip(size, pads))
    steps = [math.prod(padded[a + 1:]) for a in range(nd)]
    reach = sum((L - 1) * st for L, st in zip(out_size, steps)) + 1
    wide = out_size[0] * steps[0]
    inner = (slice(None),) * 3 + tuple(slice(pb, pb + L) for L, (pb, _) in zip(size, pads))
    crop = (Ellipsis, slice(None)) + tuple(slice(0, L) for L in out_size[1:])
    offsets = [(tap, sum(t * d * st for t, d, st in zip(tap, cfg.dilation, steps)))
               for tap in itertools.product(*(range(k) for k in kernel_size))]

    def run(rows: slice, groups: slice, chans: slice) -> None:
        x_tile = xg[rows, groups]
        buf = np.zeros(x_tile.shape[:3] + padded, dtype=x_tile.dtype)
        buf[inner] = x_tile
        flat = buf.reshape(buf.shape[:3] + (-1,))
        acc = np.zeros(x_tile.shape[:2] + (chans.stop - chans.start, wide), dtype=x_tile.dtype)
        for tap, offset in offsets:
            acc[..., :reach] += taps[tap][groups, chans] * flat[..., offset:offset + reach]  # (G, co, 1) * (n, G, 1, R)
        out[rows, groups, chans] = acc.reshape(acc.shape[:3] + (out_size[0],) + padded[1:])[crop]
    return run


def _tap_slices(xg: np.ndarray, taps: np.ndarray, out: np.ndarray, reads):
    """Tile worker: every tap as one strided window of the input (:func:`geometry.tap_slices`)."""
    def run(rows: slice, groups: slice, chans: slice) -> None:
        x_tile, out_tile = xg[rows, groups], out[rows, groups, chans]
        for tap, out_slices, in_slices in reads:
            out_tile[out_slices] += apply_tap(taps[tap][groups, chans], x_tile[in_slices])  # (G, co, ci) . (n, G, ci, *span)
    return run


def gather(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, cfg: ConvConfig) -> np.ndarray:
    """Batched conv of ``x`` ``(N, C_in, *L)`` with a validated ``cfg``; returns ``(N, C_out, *L_out)``."""
    nd, G = cfg.nd, cfg.groups
    n = x.shape[0]
    finite = bool(np.isfinite(weight).all())
    if cfg.padding_mode != "zeros":
        x = _pad_copies(x, cfg)
        offsets_pad = (0,) * nd
    elif any(p for pair in cfg.padding for p in pair) and not finite:
        # zero padding is part of the input (torch's definition: the input padded with zeros), so an
        # infinite or NaN weight tap over it adds inf * 0 = NaN; with finite weights those terms add
        # nothing and stay implicit
        x = np.pad(x, ((0, 0), (0, 0)) + tuple(cfg.padding))
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

    if ci == 1 and all(s == 1 for s in cfg.stride) and finite:
        pads = cfg.padding if cfg.padding_mode == "zeros" else ((0, 0),) * nd  # copies are already in x
        run_taps = _flat_taps(xg, taps, out, cfg, pads, cfg.kernel_size)
    else:
        run_taps = _tap_slices(xg, taps, out, reads)

    # Tiles (samples x groups x output channels) go to the oracle's workers (threads.py);
    # depthwise tiles are cache-sized, so that every tap passes over data still in cache.
    work = n * G * co * ci * math.prod(cfg.kernel_size) * math.prod(out_size)
    run_tiles(run_taps, plan_tiles(n, G, co, work, x.itemsize * (xg[:1, :1].size + out[:1, :1].size), ci == 1))
    out = out.reshape((n, cfg.out_channels) + out_size)
    if bias is not None:
        out += bias.reshape((1, -1) + (1,) * nd)
    return out
