"""Naive gradients, loop by loop from the definitions (same index arithmetic as naive.py, shares
no code with conv_oracle). For a linear map ``out = A(x, w) + b`` and an output gradient ``gy``,
each term ``x[src] * w[t]`` that the forward loop adds into ``out[o]`` contributes
``gy[o] * w[t]`` to ``gx[src]`` and ``gy[o] * x[src]`` to ``gw[t]``; ``gb[oc] = sum gy[:, oc]``.
Padded copies (reflect / replicate / circular) are read through their source index, so their
gradient lands on the pixel they copy, as the chain rule says; the zeros of 'zeros' padding are part of
the input, so each adds ``gy[o] * 0`` to ``gw[t]`` (NaN for an infinite ``gy[o]``, nothing otherwise)."""

from __future__ import annotations

import itertools

import numpy as np

from naive import _tuple, conv_padding, padded_source


def conv_grads(x, w, gy, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """``(gx, gw, gb)`` of the batched conv ``(N, C_in, *L)``; ``gy`` is ``(N, C_out, *L_out)``."""
    nd = w.ndim - 2
    N, C_in, size = x.shape[0], x.shape[1], x.shape[2:]
    C_out, ci_g, kernel = w.shape[0], w.shape[1], w.shape[2:]
    s, d = _tuple(stride, nd), _tuple(dilation, nd)
    pads = conv_padding(padding, kernel, d)
    out_size = gy.shape[2:]
    co_g = C_out // groups
    gx, gw = np.zeros(x.shape), np.zeros(w.shape)
    for n in range(N):
        for oc in range(C_out):
            g = oc // co_g
            for o in itertools.product(*(range(m) for m in out_size)):
                for c in range(ci_g):
                    ic = g * ci_g + c
                    for t in itertools.product(*(range(k) for k in kernel)):
                        src = tuple(padded_source(o[a] * s[a] + t[a] * d[a], size[a], pads[a][0], padding_mode)
                                    for a in range(nd))
                        if None in src:  # a zero of the padding: a term of gw (gy * 0), no pixel of gx
                            gw[(oc, c) + t] += gy[(n, oc) + o] * 0.0
                            continue
                        gx[(n, ic) + src] += gy[(n, oc) + o] * w[(oc, c) + t]
                        gw[(oc, c) + t] += gy[(n, oc) + o] * x[(n, ic) + src]
    gb = np.array([gy[:, oc].sum() for oc in range(C_out)])
    return gx, gw, gb


def conv_transpose_grads(x, w, gy, stride=1, padding=0, dilation=1, groups=1):
    """``(gx, gw, gb)`` of the batched transposed conv; ``gy`` has the output's shape."""
    nd = w.ndim - 2
    N, C_in, size = x.shape[0], x.shape[1], x.shape[2:]
    ci_g, co_g, kernel = C_in // groups, w.shape[1], w.shape[2:]
    s, p, d = _tuple(stride, nd), _tuple(padding, nd), _tuple(dilation, nd)
    out_size = gy.shape[2:]
    gx, gw = np.zeros(x.shape), np.zeros(w.shape)
    for n in range(N):
        for ic in range(C_in):
            g = ic // ci_g
            for i in itertools.product(*(range(m) for m in size)):
                for o in range(co_g):
                    oc = g * co_g + o
                    for t in itertools.product(*(range(k) for k in kernel)):
                        j = tuple(i[a] * s[a] - p[a] + t[a] * d[a] for a in range(nd))
                        if all(0 <= j[a] < out_size[a] for a in range(nd)):
                            gx[(n, ic) + i] += gy[(n, oc) + j] * w[(ic, o) + t]
                            gw[(ic, o) + t] += gy[(n, oc) + j] * x[(n, ic) + i]
    gb = np.array([gy[:, oc].sum() for oc in range(co_g * groups)])
    return gx, gw, gb
