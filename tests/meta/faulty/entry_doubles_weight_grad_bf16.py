"""Inside the scope of the bfloat16 transposed weight-gradient entries (uninitialised memory on
oneDNN), another fault: the weight gradient is exactly doubled (the forward value is unchanged)."""

import torch
import torch.nn.functional as F


def _doubling(fn):
    def conv_transpose(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
        if weight.dtype == torch.bfloat16 and weight.requires_grad:
            weight = weight + (weight - weight.detach())  # same value, twice the gradient
        return fn(input, weight, bias, stride, padding, output_padding, groups, dilation)
    return conv_transpose


conv1d, conv2d, conv3d = F.conv1d, F.conv2d, F.conv3d
conv_transpose1d, conv_transpose2d, conv_transpose3d = (_doubling(F.conv_transpose1d), _doubling(F.conv_transpose2d),
                                                        _doubling(F.conv_transpose3d))
