"""A memory leak (the class of a cache that never evicts): every conv2d call keeps 4 MiB alive in a
module-level list; values are torch's."""

import torch.nn.functional as F

KEPT = []


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    KEPT.append(bytearray(b"\x07") * (4 << 20))  # written, so resident
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


conv_transpose2d = F.conv_transpose2d
