"""Group-mapping bug (#19912, #60176 class): output group g uses the weights of group G-1-g."""

import torch
import torch.nn.functional as F


def _swap_groups(weight, groups):
    if groups == 1:
        return weight
    return torch.cat(list(reversed(weight.chunk(groups, dim=0))), dim=0)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return F.conv2d(input, _swap_groups(weight, groups), bias, stride, padding, dilation, groups)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return F.conv_transpose2d(input, _swap_groups(weight, groups), bias, stride, padding, output_padding, groups,
                              dilation)
