"""A deliberately naive convolution, written loop by loop from the definitions in conv-facts.md.

This is the independent check on ``conv_oracle``: it shares no code with it (no geometry, no
validation, no oracle), uses pure Python loops over every index and numpy arrays only for
storage, and assumes the configuration it is given is valid. Only for tiny sizes.

Definitions (one dimension; they compose per dimension):

* conv:            ``out[o] = bias + sum_t x_padded[o*s + t*d] * w[t]``, where ``x_padded`` is
  ``x`` with ``p_before`` cells before and ``p_after`` after, filled as torch's ``F.pad``
  fills them (zeros, reflect, replicate, circular). ``L_out = (L + p_before + p_after - E)//s + 1``.
* transposed conv: ``out`` starts at the bias; for every input ``i`` and tap ``t``,
  ``out[i*s - p + t*d] += x[i] * w[t]`` when the target lies in ``[0, L_out)``;
  ``L_out = (L - 1)*s - 2p + d*(k - 1) + 1 + a``.
"""

from __future__ import annotations

import itertools

import numpy as np


def _tuple(value, nd):
    if isinstance(value, int):
        return (value,) * nd
    value = tuple(value)
    return value * nd if len(value) == 1 else value


def _dtype(*arrays):
    return np.complex128 if any(a is not None and np.iscomplexobj(a) for a in arrays) else np.float64


def padded_source(j, length, before, mode):
    """Input index that position ``j`` of the padded axis copies (``j`` counted from the padded start),
    or ``None`` for a zero of 'zeros' padding. Written from F.pad's documentation."""
    i = j - before
    if 0 <= i < length:
        return i
    if mode == "zeros":
        return None
    if mode == "replicate":  # repeat the edge value
        return 0 if i < 0 else length - 1
    if mode == "circular":  # wrap around (torch allows at most one wrap)
        return i + length if i < 0 else i - length
    if mode == "reflect":  # mirror about the edge element, which is not repeated
        return -i if i < 0 else 2 * (length - 1) - i
    raise ValueError(mode)


def conv_padding(padding, kernel, dilation):
    """``((before, after), ...)``: int / tuple symmetric; 'valid' none; 'same' total ``d*(k-1)``,
    ``total//2`` before and the rest after (torch's rule)."""
    nd = len(kernel)
    if padding == "valid":
        return [(0, 0)] * nd
    if padding == "same":
        pads = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)
            pads.append((total // 2, total - total // 2))
        return pads
    return [(p, p) for p in _tuple(padding, nd)]


def conv(x, w, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """Naive N-d convolution; ``x`` is ``(N, C_in, *L)`` or unbatched ``(C_in, *L)``."""
    nd = w.ndim - 2
    batched = x.ndim == nd + 2
    if not batched:
        x = x[np.newaxis]
    dtype = _dtype(x, w, bias)
    N, C_in = x.shape[:2]
    size = x.shape[2:]
    C_out, ci_g = w.shape[:2]
    kernel = w.shape[2:]
    s, d = _tuple(stride, nd), _tuple(dilation, nd)
    pads = conv_padding(padding, kernel, d)
    out_size = tuple((size[a] + pads[a][0] + pads[a][1] - d[a] * (kernel[a] - 1) - 1) // s[a] + 1
                     for a in range(nd))
    co_g = C_out // groups
    out = np.zeros((N, C_out) + out_size, dtype=dtype)
    for n in range(N):
        for oc in range(C_out):
            g = oc // co_g
            for o in itertools.product(*(range(m) for m in out_size)):
                acc = 0 if bias is None else bias[oc]
                for c in range(ci_g):
                    ic = g * ci_g + c
                    for t in itertools.product(*(range(k) for k in kernel)):
                        src = []
                        for a in range(nd):
                            j = o[a] * s[a] + t[a] * d[a]  # position in the padded axis
                            src.append(padded_source(j, size[a], pads[a][0], padding_mode))
                        if None in src:  # a zero of the padding: a term like any other (inf * 0 = NaN)
                            acc = acc + 0.0 * w[(oc, c) + t]
                            continue
                        acc = acc + x[(n, ic) + tuple(src)] * w[(oc, c) + t]
                out[(n, oc) + o] = acc
    return out if batched else out[0]


def conv_transpose(x, w, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1,
                   output_size=None):
    """Naive N-d transposed convolution (scatter); ``output_size`` (spatial sizes, or the full
    shape) sets ``output_padding = size - ((L-1)*s - 2p + d*(k-1) + 1)``."""
    nd = w.ndim - 2
    batched = x.ndim == nd + 2
    if not batched:
        x = x[np.newaxis]
    dtype = _dtype(x, w, bias)
    N, C_in = x.shape[:2]
    size = x.shape[2:]
    ci_g = C_in // groups
    co_g = w.shape[1]
    C_out = co_g * groups
    kernel = w.shape[2:]
    s, p, d = _tuple(stride, nd), _tuple(padding, nd), _tuple(dilation, nd)
    smallest = [(size[a] - 1) * s[a] - 2 * p[a] + d[a] * (kernel[a] - 1) + 1 for a in range(nd)]
    if output_size is not None:
        requested = list(output_size)[-nd:]
        a_pad = [requested[a] - smallest[a] for a in range(nd)]
    else:
        a_pad = list(_tuple(output_padding, nd))
    out_size = tuple(smallest[a] + a_pad[a] for a in range(nd))
    out = np.zeros((N, C_out) + out_size, dtype=dtype)
    if bias is not None:
        for n in range(N):
            for oc in range(C_out):
                for j in itertools.product(*(range(m) for m in out_size)):
                    out[(n, oc) + j] = bias[oc]
    for n in range(N):
        for ic in range(C_in):
            g = ic // ci_g
            for i in itertools.product(*(range(m) for m in size)):
                for o in range(co_g):
                    oc = g * co_g + o
                    for t in itertools.product(*(range(k) for k in kernel)):
                        j = tuple(i[a] * s[a] - p[a] + t[a] * d[a] for a in range(nd))
                        if all(0 <= j[a] < out_size[a] for a in range(nd)):
                            out[(n, oc) + j] += x[(n, ic) + i] * w[(ic, o) + t]
    return out if batched else out[0]
