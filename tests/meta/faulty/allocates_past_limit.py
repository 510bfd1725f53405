"""An allocation far past any sane memory limit (the class of a size computed wrongly, e.g. an
overflowed workspace): conv2d asks torch for a 64 GiB buffer before computing; values are torch's."""

import torch
import torch.nn.functional as F


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    workspace = torch.empty(16 << 30, dtype=torch.float32)  # 64 GiB
    del workspace
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


conv_transpose2d = F.conv_transpose2d
