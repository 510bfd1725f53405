"""Narrow fault (b), one thread count: with torch.get_num_threads() == 1, a grouped convolution
(not transposed) with dilation > 1 in some dimension and a bias is off by one in its first output cell."""

import torch

from ._narrow_path import functions


def hits(call):
    return (torch.get_num_threads() == 1 and not call.transposed and call.groups > 1
            and max(call.dilation) > 1 and call.bias is not None)


globals().update(functions(hits))
