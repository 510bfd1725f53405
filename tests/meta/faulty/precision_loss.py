"""Precision loss (#107514, #153276 class): float32 / float64 computed through bfloat16 and cast back."""

import torch
import torch.nn.functional as F


def _via_bf16(fn, input, weight, bias, *args):
    if input.dtype in (torch.float32, torch.float64):
        out = fn(input.to(torch.bfloat16), weight.to(torch.bfloat16),
                 None if bias is None else bias.to(torch.bfloat16), *args)
        return out.to(input.dtype)
    return fn(input, weight, bias, *args)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _via_bf16(F.conv2d, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _via_bf16(F.conv_transpose2d, input, weight, bias, stride, padding, output_padding, groups, dilation)
