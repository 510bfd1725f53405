"""Planted: conv2d kills its process with SIGSEGV on a non-positive stride and raises ZeroDivisionError (a
type torch never raises) on a negative padding, two invalid calls; otherwise torch's own functions."""

import os
import signal

import torch.nn.functional as F
from torch.nn.functional import conv_transpose2d  # noqa: F401


def _values(v):
    return list(v) if isinstance(v, (tuple, list)) else [v]


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    if any(s <= 0 for s in _values(stride)):
        os.kill(os.getpid(), signal.SIGSEGV)
    if not isinstance(padding, str) and any(p < 0 for p in _values(padding)):
        raise ZeroDivisionError("planted")
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
