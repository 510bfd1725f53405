"""Writes its input in place (doubles it) before computing: an oracle that read the operands back
after the call would compare conv(2x, w) with conv(2x, w) and pass."""

import torch
import torch.nn.functional as F


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    with torch.no_grad():
        try:
            input.mul_(2)
        except RuntimeError:  # an expanded (stride-0) view cannot be written element by element
            pass
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


conv_transpose2d = F.conv_transpose2d
