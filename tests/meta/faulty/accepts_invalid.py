"""Silently accepted invalid configuration (#88647, #4607 class): a kernel larger than the padded
input yields an all-bias output of size 1 instead of an error."""

import torch
import torch.nn.functional as F


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    try:
        return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    except RuntimeError as exc:
        if "Kernel size can't be greater" not in str(exc):
            raise
        lead = input.shape[:-3] + (weight.shape[0],)
        out = torch.zeros(lead + (1, 1), dtype=input.dtype)
        return out if bias is None else out + bias.reshape(-1, 1, 1)


conv_transpose2d = F.conv_transpose2d
