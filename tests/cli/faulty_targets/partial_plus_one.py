"""A planted fault for the cross-target comparison: conv2d adds 1 to every output cell, and the target
has no 3-D functions, so its draws part from torch's (Hypothesis rejects the 3-D cases it cannot run)."""

import torch.nn.functional as F

conv1d, conv_transpose1d, conv_transpose2d = F.conv1d, F.conv_transpose1d, F.conv_transpose2d


def conv2d(*args, **kwargs):
    return F.conv2d(*args, **kwargs) + 1
