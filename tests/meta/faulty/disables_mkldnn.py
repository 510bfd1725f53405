"""A target that changes the process's torch state (the class of a library that switches a backend
off as a "workaround"): its first conv2d call sets torch.backends.mkldnn.enabled = False; values are
torch's."""

import torch
import torch.nn.functional as F

_called = False


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    global _called
    if not _called:
        _called = True
        torch.backends.mkldnn.enabled = False
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


conv_transpose2d = F.conv_transpose2d
