"""A planted fault that shows on one ISA cap only, standing in for a defect of one machine class: conv2d
adds 1 to every output cell when the process runs under ``ONEDNN_MAX_CPU_ISA=AVX2`` (all else is torch)."""

import os

import torch.nn.functional as F

conv1d, conv3d = F.conv1d, F.conv3d
conv_transpose1d, conv_transpose2d, conv_transpose3d = F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d


def conv2d(*args, **kwargs):
    out = F.conv2d(*args, **kwargs)
    return out + 1 if os.environ.get("ONEDNN_MAX_CPU_ISA") == "AVX2" else out
