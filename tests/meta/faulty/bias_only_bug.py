"""Wrong bias on uncovered cells: the transposed conv adds the bias only where a kernel copy landed."""

import torch
import torch.nn.functional as F

conv2d = F.conv2d


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    out = F.conv_transpose2d(input, weight, None, stride, padding, output_padding, groups, dilation)
    if bias is None:
        return out
    ones = torch.ones_like(input)
    touched = F.conv_transpose2d(ones, torch.ones_like(weight), None, stride, padding, output_padding, groups,
                                 dilation) != 0
    return out + torch.where(touched, bias.reshape(-1, 1, 1), torch.zeros((), dtype=out.dtype))
