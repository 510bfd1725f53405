"""Planted crash: conv2d kills its own process with SIGSEGV when the input has CRASH_SHAPE, and
conv_transpose2d does when the input has FINDING_SHAPE in float16 (the finding's pinned call);
otherwise torch's own functions."""

import os
import signal

import torch
import torch.nn.functional as F

#: the input shape of one corpus case (#60176, grouped conv2d, stride > kernel) and no other
CRASH_SHAPE = (1, 4, 9, 9)
#: the input shape of the finding with explicit operands (conv_transpose2d, NaN in output_padding cells)
FINDING_SHAPE = (2, 1, 1, 1)


def _segfault():
    os.kill(os.getpid(), signal.SIGSEGV)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    if tuple(input.shape) == CRASH_SHAPE:
        _segfault()
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    if tuple(input.shape) == FINDING_SHAPE and input.dtype == torch.float16:
        _segfault()
    return F.conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups, dilation)
