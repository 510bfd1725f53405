"""Planted fault: conv2d adds 1 to every output when the stride exceeds the kernel in some dimension."""

import torch.nn.functional as F
from torch.nn.functional import conv_transpose2d  # noqa: F401


def _pair(v):
    return tuple(v) * (2 if len(tuple(v)) == 1 else 1) if isinstance(v, (tuple, list)) else (v, v)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    out = F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    if any(s > k for s, k in zip(_pair(stride), weight.shape[-2:])):
        out = out + 1  # values change; gradients (of a constant shift) and shapes do not
    return out
