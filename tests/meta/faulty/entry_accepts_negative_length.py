"""Inside the scope of onednn-transposed-output-length-0 (an accepted output length of 0), another
fault: a negative transposed output length is accepted too, returning an empty tensor."""

import torch
import torch.nn.functional as F


def _per_dim(v, n):
    return (v,) * n if isinstance(v, int) else tuple(v)


def _accepting(fn, nd):
    def conv_transpose(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
        try:
            s, p, a, d = (_per_dim(v, nd) for v in (stride, padding, output_padding, dilation))
            sizes = [(i - 1) * s_ - 2 * p_ + d_ * (k - 1) + a_ + 1
                     for i, k, s_, p_, a_, d_ in zip(input.shape[-nd:], weight.shape[-nd:], s, p, a, d)]
        except (TypeError, ValueError):
            sizes = []
        if sizes and min(sizes) < 0:
            lead = input.shape[:-nd - 1] + (weight.shape[1] * groups,)
            return input.new_zeros(lead + tuple(max(n, 0) for n in sizes))
        return fn(input, weight, bias, stride, padding, output_padding, groups, dilation)
    return conv_transpose


conv1d, conv2d, conv3d = F.conv1d, F.conv2d, F.conv3d
conv_transpose1d = _accepting(F.conv_transpose1d, 1)
conv_transpose2d = _accepting(F.conv_transpose2d, 2)
conv_transpose3d = _accepting(F.conv_transpose3d, 3)
