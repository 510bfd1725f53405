"""Planted fault: conv2d accepts groups <= 0 and runs it as groups=1 (an invalid call accepted)."""

import torch.nn.functional as F
from torch.nn.functional import conv_transpose2d  # noqa: F401


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups if groups > 0 else 1)
