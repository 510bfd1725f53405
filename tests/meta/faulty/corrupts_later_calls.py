"""A target that damages its own process and crashes a later call: the first conv2d in a process remembers
its input shape, and a conv2d of another input shape in the same process dies with SIGSEGV (the class of a
kernel that writes out of bounds and leaves the crash to whatever runs next). Alone in a fresh process every
call is right."""

import os
import signal

import torch.nn.functional as F

_first_shape = None


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    global _first_shape
    if _first_shape is None:
        _first_shape = tuple(input.shape)
    elif tuple(input.shape) != _first_shape:
        os.kill(os.getpid(), signal.SIGSEGV)
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


conv_transpose2d = F.conv_transpose2d
