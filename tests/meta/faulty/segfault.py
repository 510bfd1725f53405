"""A native crash (the class of torch's AMX conv2d segfault): the process dies with SIGSEGV on a
narrow family of configurations, 2-D convolutions with a dilated kernel of height 2 or more."""

import os
import signal

import torch.nn.functional as F


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    dil = dilation if isinstance(dilation, int) else dilation[0]
    if weight.shape[2] >= 2 and dil >= 2:
        os.kill(os.getpid(), signal.SIGSEGV)
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


conv_transpose2d = F.conv_transpose2d
