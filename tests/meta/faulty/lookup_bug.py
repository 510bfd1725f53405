"""conv2d looks its kernel up in a table of tuned tile sizes that lacks most shapes: a KeyError (a
LookupError) on a valid call. It must fail as a rejected valid configuration, with its snippet, not
escape as 'the target lacks this function'."""

import torch.nn.functional as F
from torch.nn.functional import conv1d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d  # noqa: F401

_TILES = {(1, 1): 8, (3, 3): 4}  # tuned for 1x1 and 3x3 kernels only


def conv2d(input, weight, bias=None, *args, **kwargs):
    _TILES[tuple(weight.shape[-2:])]  # KeyError for any other kernel
    return F.conv2d(input, weight, bias, *args, **kwargs)
