"""Narrow fault (c), one ISA cap: with ONEDNN_MAX_CPU_ISA=AVX2, a float16 3-D convolution (either
direction) with groups > 1 is off by one in its first output cell."""

import os

import torch

from ._narrow_path import functions


def hits(call):
    return (os.environ.get("ONEDNN_MAX_CPU_ISA") == "AVX2" and call.input.dtype == torch.float16
            and call.nd == 3 and call.groups > 1)


globals().update(functions(hits))
