"""Layout bug (#1246, #55781 class): reads a non-contiguous input as if its memory were contiguous."""

import torch
import torch.nn.functional as F


def _naive(t):
    if t.is_contiguous():
        return t
    # Reinterpret the underlying storage with contiguous strides: wrong for sliced / transposed views.
    strides, acc = [], 1
    for size in reversed(t.shape):
        strides.insert(0, acc)
        acc *= size
    return torch.as_strided(t, t.shape, strides, t.storage_offset())


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return F.conv2d(_naive(input), weight, bias, stride, padding, dilation, groups)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return F.conv_transpose2d(_naive(input), weight, bias, stride, padding, output_padding, groups, dilation)
