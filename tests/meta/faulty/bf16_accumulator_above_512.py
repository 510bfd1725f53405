"""float32 whose accumulator drops to bfloat16 on long reductions: above 512 products per cell the
running sum is rounded to bfloat16 after every block of 64 input channels (shorter reductions are exact)."""

import math

import torch
import torch.nn.functional as F

BLOCK = 64


def _blocked(fn, nd):
    def conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        per_group = weight.shape[1]
        if input.dtype != torch.float32 or per_group * math.prod(weight.shape[2:]) <= 512:
            return fn(input, weight, bias, stride, padding, dilation, groups)
        outs = []
        out_per_group = weight.shape[0] // groups
        for g in range(groups):
            x_g = input.narrow(-nd - 1, g * per_group, per_group)
            w_g = weight.narrow(0, g * out_per_group, out_per_group)
            acc = None
            for c in range(0, per_group, BLOCK):
                n = min(BLOCK, per_group - c)
                part = fn(x_g.narrow(-nd - 1, c, n), w_g.narrow(1, c, n), None, stride, padding, dilation, 1)
                acc = part if acc is None else (acc + part).to(torch.bfloat16).to(torch.float32)
            outs.append(acc)
        out = torch.cat(outs, dim=-nd - 1)
        if bias is not None:
            out = out + bias.reshape((-1,) + (1,) * nd)
        return out
    return conv


conv1d, conv2d, conv3d = _blocked(F.conv1d, 1), _blocked(F.conv2d, 2), _blocked(F.conv3d, 3)
conv_transpose1d, conv_transpose2d, conv_transpose3d = F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d
