"""Index geometry of convolution and transposed convolution: pure integer arithmetic.

One spatial dimension, input length ``L``, kernel ``k``, stride ``s``, padding ``p``,
dilation ``d``, output_padding ``a``, effective kernel ``E = d*(k-1) + 1``:

* conv (gather):   ``out[o] += x[o*s - p + t*d] * w[t]``,  ``L_out = floor((L + 2p - E)/s) + 1``
* transposed conv (scatter): ``out[i*s - p + t*d] += x[i] * w[t]``,
  ``L_out = (L - 1)*s - 2p + E + a``

Both are the same affine index map ``dst = src*s + t*d - p``: for conv ``src`` is the output
and ``dst`` the input it reads; for the transposed conv ``src`` is the input and ``dst`` the
output it writes. Everything here (output sizes, the per-tap loop ranges the oracle uses, the
skipped / bias-only masks the records use) derives from that one map. Multi-dimensional
geometry composes per dimension: a cell is touched iff its index is touched in every dimension.
"""

from __future__ import annotations

import itertools
import math
from typing import Sequence

import numpy as np

from .params import check_padding_mode, per_dim, resolve_padding

IntOrTuple = int | Sequence[int]


def effective_kernel(kernel: int, dilation: int = 1) -> int:
    """``E = d*(k-1) + 1``: the span of one window."""
    return dilation * (kernel - 1) + 1


def conv_output_length(length: int, kernel: int, stride: int = 1, padding: int = 0,
                       dilation: int = 1, padding_after: int | None = None) -> int:
    """``floor((L + p_before + p_after - E) / s) + 1`` (may be < 1 for invalid configs)."""
    after = padding if padding_after is None else padding_after
    return (length + padding + after - effective_kernel(kernel, dilation)) // stride + 1


def conv_transpose_output_length(length: int, kernel: int, stride: int = 1, padding: int = 0,
                                 output_padding: int = 0, dilation: int = 1) -> int:
    """``(L - 1)*s - 2p + E + a`` (may be < 1 for invalid configs)."""
    return (length - 1) * stride - 2 * padding + effective_kernel(kernel, dilation) + output_padding


def tap_span(offset: int, stride: int, n_src: int, n_dst: int) -> tuple[int, int]:
    """Range ``[lo, hi)`` of ``src`` in ``[0, n_src)`` whose ``dst = src*stride + offset`` lies in ``[0, n_dst)``.

    With ``offset = t*d - p`` this is the set of outputs a conv tap reads for (src = output),
    or the set of inputs a transposed-conv tap writes from (src = input). Empty spans give lo == hi.
    """
    lo = -(offset // stride) if offset < 0 else 0  # ceil(-offset / stride)
    hi = min(n_src, (n_dst - 1 - offset) // stride + 1) if n_dst > 0 else 0
    return lo, max(lo, hi)


def tap_slices(kernel_size: Sequence[int], stride: Sequence[int], dilation: Sequence[int],
               padding: Sequence[int], src_size: Sequence[int], dst_size: Sequence[int]):
    """For every kernel tap with a non-empty :func:`tap_span` in each dimension, yield
    ``(tap, src, dst)``: ``src`` slices the positions in ``[0, src_size)`` whose
    ``dst = src*s + t*d - p`` lies in ``[0, dst_size)``, and ``dst`` the strided slice of those targets.
    The oracle's loops (gather: src = output, dst = input; scatter: src = input, dst = output) run on these."""
    for tap in itertools.product(*(range(k) for k in kernel_size)):
        src, dst = [], []
        for t, s, d, p, n_src, n_dst in zip(tap, stride, dilation, padding, src_size, dst_size):
            offset = t * d - p
            lo, hi = tap_span(offset, s, n_src, n_dst)
            if hi == lo:
                break
            src.append(slice(lo, hi))
            dst.append(slice(lo * s + offset, (hi - 1) * s + offset + 1, s))
        else:
            yield tap, (Ellipsis,) + tuple(src), (Ellipsis,) + tuple(dst)


def reached_1d(n_dst: int, n_src: int, kernel: int, stride: int = 1, padding: int = 0,
               dilation: int = 1) -> np.ndarray:
    """Boolean mask over ``dst`` in ``[0, n_dst)``: True iff ``dst + p = src*s + t*d`` for some
    ``src`` in ``[0, n_src)`` and tap ``t`` in ``[0, k)``.

    Closed form, O(n_dst): with ``g = gcd(d, s)`` and ``m = s/g``, the taps solving
    ``t*d = q (mod s)`` exist iff ``g | q`` and form one residue class ``t0 (mod m)``; the
    bounds on ``src`` confine ``t`` to ``[ceil((q - (n_src-1)*s)/d), floor(q/d)] & [0, k)``.
    """
    q = np.arange(n_dst, dtype=np.int64) + padding
    if n_src <= 0 or kernel <= 0 or n_dst <= 0:
        return np.zeros(n_dst, dtype=bool)
    g = math.gcd(dilation, stride)
    m = stride // g
    inv = pow(dilation // g, -1, m) if m > 1 else 0
    t0 = ((q // g) % m) * inv % m
    lo = np.maximum(0, -((-(q - (n_src - 1) * stride)) // dilation))  # ceil division
    hi = np.minimum(kernel - 1, q // dilation)
    first = lo + (t0 - lo) % m
    return (q % g == 0) & (q >= 0) & (first <= hi)


def _pd(name: str, value, nd: int) -> tuple[int, ...]:
    minimum = {"padding": 0, "output_padding": 0, "input_size": 0}.get(name, 1)
    return per_dim(name, value, nd, minimum)


def _outer_and(masks: Sequence[np.ndarray]) -> np.ndarray:
    out = np.ones((), dtype=bool)
    for axis, m in enumerate(masks):
        shape = [1] * len(masks)
        shape[axis] = m.size
        out = out & m.reshape(shape)
    return out


def padded_source_index(length: int, before: int, after: int, mode: str) -> np.ndarray:
    """For each position of the padded axis (length ``before + L + after``), the input index
    it copies under ``padding_mode`` (``-1`` for a zero of 'zeros' mode), as torch's F.pad."""
    check_padding_mode(mode)
    j = np.arange(-before, length + after, dtype=np.int64)
    if mode == "zeros":
        return np.where((j >= 0) & (j < length), j, -1)
    if mode == "replicate":
        return np.clip(j, 0, length - 1)
    if mode == "circular":
        return j % length
    j = np.abs(j)  # reflect: mirror about the first and last element, which are not repeated
    return np.where(j >= length, 2 * (length - 1) - j, j)


def max_copies(length: int, before: int, after: int, mode: str) -> int:
    """How many positions of the padded axis copy the most-copied input position (1 for 'zeros').
    A pixel's gradient sums over all its copies, so this multiplies the number of terms in it."""
    src = padded_source_index(length, before, after, mode)
    return int(np.bincount(src[src >= 0], minlength=1).max()) if length else 0


def conv_output_size(input_size: IntOrTuple, kernel_size: IntOrTuple, stride: IntOrTuple = 1,
                     padding: IntOrTuple | str = 0, dilation: IntOrTuple = 1) -> tuple[int, ...]:
    """Spatial output shape of a convolution (``padding`` may be 'valid' or 'same')."""
    nd = len(input_size) if not isinstance(input_size, int) else 1
    L, k, s, d = (_pd(n, v, nd) for n, v in (("input_size", input_size), ("kernel_size", kernel_size),
                                                  ("stride", stride), ("dilation", dilation)))
    pads = resolve_padding(padding, k, d, s)
    return tuple(conv_output_length(L[i], k[i], s[i], pads[i][0], d[i], pads[i][1]) for i in range(nd))


def conv_transpose_output_size(input_size: IntOrTuple, kernel_size: IntOrTuple, stride: IntOrTuple = 1,
                               padding: IntOrTuple = 0, output_padding: IntOrTuple = 0,
                               dilation: IntOrTuple = 1) -> tuple[int, ...]:
    """Spatial output shape of a transposed convolution."""
    nd = len(input_size) if not isinstance(input_size, int) else 1
    args = [_pd(n, v, nd) for n, v in (("input_size", input_size), ("kernel_size", kernel_size),
                                             ("stride", stride), ("padding", padding),
                                             ("output_padding", output_padding), ("dilation", dilation))]
    return tuple(conv_transpose_output_length(*a) for a in zip(*args))


def input_read_1d(length: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1,
                  padding_after: int | None = None, padding_mode: str = "zeros") -> np.ndarray:
    """Mask over one input axis: True where some conv window reads the position."""
    after = padding if padding_after is None else padding_after
    n_out = max(0, conv_output_length(length, kernel, stride, padding, dilation, after))
    if padding_mode == "zeros":
        return reached_1d(length, n_out, kernel, stride, padding, dilation)
    # Other modes read a materialised padded axis; map each read padded position to its source.
    padded_read = reached_1d(length + padding + after, n_out, kernel, stride, 0, dilation)
    src = padded_source_index(length, padding, after, padding_mode)
    read = np.zeros(length, dtype=bool)
    read[src[padded_read]] = True
    return read


def skipped_input_pixels(input_size: IntOrTuple, kernel_size: IntOrTuple, stride: IntOrTuple = 1,
                         padding: IntOrTuple | str = 0, dilation: IntOrTuple = 1,
                         padding_mode: str = "zeros") -> np.ndarray:
    """Boolean mask over the conv input's spatial shape: True where no output window reads the pixel.

    Input ``i`` is read iff ``i + p = o*s + t*d`` for an output ``o`` and a tap ``t`` (per dimension;
    a pixel is read iff it is read in every dimension). With a non-'zeros' ``padding_mode`` a pixel
    also counts as read when a padded copy of it is.
    """
    nd = 1 if isinstance(input_size, int) else len(input_size)
    L, k, s, d = (_pd(n, v, nd) for n, v in (("input_size", input_size), ("kernel_size", kernel_size),
                                                  ("stride", stride), ("dilation", dilation)))
    pads = resolve_padding(padding, k, d, s)
    return ~_outer_and([input_read_1d(L[i], k[i], s[i], pads[i][0], d[i], pads[i][1], padding_mode)
                        for i in range(nd)])


def output_touched_1d(length: int, kernel: int, stride: int = 1, padding: int = 0,
                      output_padding: int = 0, dilation: int = 1) -> np.ndarray:
    """Mask over one transposed-conv output axis: True where some input adds a kernel tap."""
    n_out = max(0, conv_transpose_output_length(length, kernel, stride, padding, output_padding, dilation))
    return reached_1d(n_out, length, kernel, stride, padding, dilation)


def bias_only_output_cells(input_size: IntOrTuple, kernel_size: IntOrTuple, stride: IntOrTuple = 1,
                           padding: IntOrTuple = 0, output_padding: IntOrTuple = 0,
                           dilation: IntOrTuple = 1) -> np.ndarray:
    """Boolean mask over the transposed conv's spatial output: True where nothing is added.

    Output ``j`` receives a contribution iff ``j + p = i*s + t*d`` for an input ``i`` and tap ``t``;
    every other cell equals the bias (zero without one), whatever the input values.
    """
    nd = 1 if isinstance(input_size, int) else len(input_size)
    args = [_pd(n, v, nd) for n, v in (("input_size", input_size), ("kernel_size", kernel_size),
                                             ("stride", stride), ("padding", padding),
                                             ("output_padding", output_padding), ("dilation", dilation))]
    return ~_outer_and([output_touched_1d(*a) for a in zip(*args)])


def contributions(cell: Sequence[int], transposed: bool, input_size: Sequence[int], kernel_size: Sequence[int],
                  stride: Sequence[int], padding: Sequence[int], dilation: Sequence[int]) -> list[tuple]:
    """The ``(tap, input_index)`` pairs that sum into one output ``cell`` (spatial index).

    conv: tap ``t`` of output ``o`` reads input ``o*s - p + t*d`` when it exists;
    transposed: input ``i`` reaches output ``j`` through tap ``t`` iff ``j = i*s - p + t*d``.
    """
    per_dim = []
    for j, L, k, s, p, d in zip(cell, input_size, kernel_size, stride, padding, dilation):
        pairs = []
        for t in range(k):
            if transposed:
                q = j + p - t * d
                if q % s == 0 and 0 <= q // s < L:
                    pairs.append((t, q // s))
            else:
                i = j * s - p + t * d
                if 0 <= i < L:
                    pairs.append((t, i))
        per_dim.append(pairs)
    out = [((), ())]
    for pairs in per_dim:
        out = [(tap + (t,), idx + (i,)) for tap, idx in out for t, i in pairs]
    return out


def reach_counts_1d(n_dst: int, n_src: int, kernel: int, stride: int = 1, padding: int = 0,
                    dilation: int = 1) -> np.ndarray:
    """For each ``dst`` in ``[0, n_dst)``: how many pairs ``(src, t)`` satisfy ``dst + p = src*s + t*d``
    with ``src`` in ``[0, n_src)`` and ``t`` in ``[0, k)``. Zero exactly where :func:`reached_1d` is False."""
    counts = np.zeros(max(0, n_dst), dtype=np.int64)
    for t in range(kernel):
        offset = t * dilation - padding
        lo, hi = tap_span(offset, stride, n_src, n_dst)
        counts[np.arange(lo, hi) * stride + offset] += 1
    return counts


def _outer_product(vectors: Sequence[np.ndarray]) -> np.ndarray:
    out = np.ones((), dtype=np.int64)
    for axis, v in enumerate(vectors):
        shape = [1] * len(vectors)
        shape[axis] = v.size
        out = out * v.reshape(shape)
    return out


def conv_input_read_counts(input_size: IntOrTuple, kernel_size: IntOrTuple, stride: IntOrTuple = 1,
                           padding: IntOrTuple | str = 0, dilation: IntOrTuple = 1,
                           padding_mode: str = "zeros") -> np.ndarray:
    """Per conv input pixel, the number of (output, tap) pairs that read it: the product over
    dimensions of the 1-D counts (reads of padded copies count for their source pixel).
    Zero exactly on :func:`skipped_input_pixels`."""
    nd = 1 if isinstance(input_size, int) else len(input_size)
    L, k, s, d = (_pd(n, v, nd) for n, v in (("input_size", input_size), ("kernel_size", kernel_size),
                                                  ("stride", stride), ("dilation", dilation)))
    pads = resolve_padding(padding, k, d, s)
    per_dim = []
    for length, kk, ss, (pb, pa), dd in zip(L, k, s, pads, d):
        n_out = max(0, conv_output_length(length, kk, ss, pb, dd, pa))
        if padding_mode == "zeros":
            per_dim.append(reach_counts_1d(length, n_out, kk, ss, pb, dd))
            continue
        padded = reach_counts_1d(length + pb + pa, n_out, kk, ss, 0, dd)
        folded = np.zeros(length, dtype=np.int64)
        np.add.at(folded, padded_source_index(length, pb, pa, padding_mode), padded)
        per_dim.append(folded)
    return _outer_product(per_dim)


def conv_transpose_output_counts(input_size: IntOrTuple, kernel_size: IntOrTuple, stride: IntOrTuple = 1,
                                 padding: IntOrTuple = 0, output_padding: IntOrTuple = 0,
                                 dilation: IntOrTuple = 1) -> np.ndarray:
    """Per transposed-conv output cell, the number of (input, tap) pairs that add into it: the product
    over dimensions of the 1-D counts. Zero exactly on :func:`bias_only_output_cells`."""
    nd = 1 if isinstance(input_size, int) else len(input_size)
    args = [_pd(n, v, nd) for n, v in (("input_size", input_size), ("kernel_size", kernel_size),
                                             ("stride", stride), ("padding", padding),
                                             ("output_padding", output_padding), ("dilation", dilation))]
    per_dim = []
    for L, k, s, p, a, d in zip(*args):
        n_out = max(0, conv_transpose_output_length(L, k, s, p, a, d))
        per_dim.append(reach_counts_1d(n_out, L, k, s, p, d))
    return _outer_product(per_dim)


def conv_padding_only_axes(input_size: IntOrTuple, kernel_size: IntOrTuple, stride: IntOrTuple = 1,
                           padding: IntOrTuple | str = 0, dilation: IntOrTuple = 1,
                           padding_mode: str = "zeros") -> tuple[bool, ...]:
    """Per dimension of a convolution: True when the output has cells along it and every one of them
    reads only zero padding there (no tap ``o*s - p + t*d`` lands in ``[0, L)``), so the whole output
    is bias only. With a non-'zeros' ``padding_mode`` the padded positions are copies of the input, so
    no dimension is padding-only."""
    nd = 1 if isinstance(input_size, int) else len(input_size)
    L, k, s, d = (_pd(n, v, nd) for n, v in (("input_size", input_size), ("kernel_size", kernel_size),
                                                  ("stride", stride), ("dilation", dilation)))
    pads = resolve_padding(padding, k, d, s)
    return tuple(bool(conv_output_length(L[i], k[i], s[i], pads[i][0], d[i], pads[i][1]) >= 1
                      and not input_read_1d(L[i], k[i], s[i], pads[i][0], d[i], pads[i][1], padding_mode).any())
                 for i in range(nd))


def conv_transpose_padding_only_axes(input_size: IntOrTuple, kernel_size: IntOrTuple, stride: IntOrTuple = 1,
                                     padding: IntOrTuple = 0, output_padding: IntOrTuple = 0,
                                     dilation: IntOrTuple = 1) -> tuple[bool, ...]:
    """Per dimension of a transposed convolution: True when the output has cells along it and no
    (input, tap) pair reaches any of them (every target ``i*s - p + t*d`` falls outside the output):
    every output cell is bias only, the transposed counterpart of :func:`conv_padding_only_axes`."""
    nd = 1 if isinstance(input_size, int) else len(input_size)
    args = [_pd(n, v, nd) for n, v in (("input_size", input_size), ("kernel_size", kernel_size),
                                             ("stride", stride), ("padding", padding),
                                             ("output_padding", output_padding), ("dilation", dilation))]
    return tuple(bool(conv_transpose_output_length(L, k, s, p, a, d) >= 1 and not output_touched_1d(L, k, s, p, a, d).any())
                 for L, k, s, p, a, d in zip(*args))
