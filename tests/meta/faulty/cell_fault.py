"""A fault confined to one 3-way cell of the features (3-D, a depthwise convolution, an input in the
'transposed' layout, i.e. its last two axes swapped in memory): every output is off by one there. The
covering-array test reaches that cell in every run, whatever the target's name."""

import torch.nn.functional as F
from torch.nn.functional import conv1d, conv2d, conv_transpose1d, conv_transpose2d, conv_transpose3d  # noqa: F401


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    out = F.conv3d(input, weight, bias, stride, padding, dilation, groups)
    depthwise = groups > 1 and weight.shape[1] == 1
    swapped = input.dim() >= 2 and input.stride(-1) != 1 and input.stride(-2) == 1
    return out + 1 if depthwise and swapped else out
