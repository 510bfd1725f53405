"""A hang on a family of configurations only (the class of a kernel that spins on a shape it never
finishes): conv2d never returns when a stride exceeds the kernel's extent in that dimension, without
padding or groups; every other call is torch's. The suite's pinned examples (historical
configurations) all miss the family, so the hang is found by generation and shrunk: the case the
bounds on hangs are for (:mod:`conv_oracle.checks.bounds`)."""

import time

import torch.nn.functional as F


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    if groups == 1 and padding in (0, (0, 0)) and any(s > k for s, k in zip(_pair(stride), weight.shape[2:])):
        while True:  # neither returns nor raises
            time.sleep(3600)
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


conv_transpose2d = F.conv_transpose2d
