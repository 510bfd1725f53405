"""Uninitialised memory (the class of torch's bfloat16 gradient buffers): the last output row of a
2-D convolution is never written, so it holds whatever the allocator handed out."""

import torch
import torch.nn.functional as F


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    out = F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    result = torch.empty_like(out)
    result[..., :-1, :] = out[..., :-1, :]
    return result


conv_transpose2d = F.conv_transpose2d
