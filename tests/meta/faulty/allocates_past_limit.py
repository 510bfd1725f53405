"""An allocation past the worker's memory cap (the class of a workspace sized wrongly, e.g. from an
overflowed product): conv2d asks torch for a 1 GiB buffer it never touches before computing; values
are torch's. Without a cap the buffer is only reserved (overcommit) and every call passes."""

import torch
import torch.nn.functional as F


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    workspace = torch.empty(1 << 28, dtype=torch.float32)  # 1 GiB, not written
    del workspace
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


conv_transpose2d = F.conv_transpose2d
