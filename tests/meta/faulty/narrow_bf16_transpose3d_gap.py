"""Narrow fault (a'), about 1% of bfloat16 configurations: a bfloat16 3-D transposed convolution with a
bias whose stride exceeds the effective kernel in spatial dimension 1 only is off by one in its first
output cell."""

import torch

from ._narrow_path import functions


def hits(call):
    return (call.transposed and call.input.dtype == torch.bfloat16 and call.nd == 3 and call.bias is not None
            and call.gaps[1] and not call.gaps[0] and not call.gaps[2])


globals().update(functions(hits))
