"""A fault confined to one 3-way cell of the features (3-D, depthwise: one input channel per group,
an input in the 'transposed' layout, i.e. its last two axes swapped in memory), in both operators:
every output is doubled there, and so (through autograd) every gradient. The covering-array test
reaches that cell in every run, whatever the target's name."""

import torch.nn.functional as F
from torch.nn.functional import conv1d, conv2d, conv_transpose1d, conv_transpose2d  # noqa: F401


def _in_cell(input, groups) -> bool:
    depthwise = groups > 1 and input.shape[-4] == groups  # the channel axis of a 3-D input
    return depthwise and input.stride(-1) != 1 and input.stride(-2) == 1


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    out = F.conv3d(input, weight, bias, stride, padding, dilation, groups)
    return out * 2 if _in_cell(input, groups) else out


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    out = F.conv_transpose3d(input, weight, bias, stride, padding, output_padding, groups, dilation)
    return out * 2 if _in_cell(input, groups) else out
