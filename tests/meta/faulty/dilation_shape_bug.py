"""Output size ignores dilation (#14272 class): the transposed conv crops its output to the size
formula without dilation."""

import torch.nn.functional as F

conv2d = F.conv2d


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    out = F.conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups, dilation)
    s = (stride,) * 2 if isinstance(stride, int) else tuple(stride)
    p = (padding,) * 2 if isinstance(padding, int) else tuple(padding)
    a = (output_padding,) * 2 if isinstance(output_padding, int) else tuple(output_padding)
    k = weight.shape[-2:]
    size = [(n - 1) * s_ - 2 * p_ + k_ + a_ for n, s_, p_, k_, a_ in zip(input.shape[-2:], s, p, k, a)]
    return out[..., :max(size[0], 1), :max(size[1], 1)]
