"""NaN propagation (#12484, #157237 class): a fused reduction lets any NaN / Inf in the input reach
every output cell, including pixels no window reads."""

import torch.nn.functional as F


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    out = F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    return out + 0 * input.sum()


conv_transpose2d = F.conv_transpose2d
