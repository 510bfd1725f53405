"""A planted fault for the end-to-end tests: conv2d adds 1 to every output cell (all else is torch)."""

import torch.nn.functional as F

conv1d, conv3d = F.conv1d, F.conv3d
conv_transpose1d, conv_transpose2d, conv_transpose3d = F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d


def conv2d(*args, **kwargs):
    return F.conv2d(*args, **kwargs) + 1
