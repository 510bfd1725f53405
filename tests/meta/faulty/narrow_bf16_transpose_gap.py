"""Narrow fault (a), one dtype with one stride pattern: bfloat16 transposed convolution whose stride
exceeds the effective kernel in spatial dimension 1 only is off by one in its first output cell."""

import torch

from ._narrow_path import functions


def hits(call):
    return (call.transposed and call.input.dtype == torch.bfloat16 and call.nd >= 2
            and call.gaps[1] and not any(g for i, g in enumerate(call.gaps) if i != 1))


globals().update(functions(hits))
