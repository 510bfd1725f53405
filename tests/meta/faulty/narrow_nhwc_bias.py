"""Narrow fault (d), one layout with a bias: a transposed convolution given a channels_last input
and a bias is off by one in its first output cell."""

from ._narrow_path import functions


def hits(call):
    return call.transposed and call.channels_last_input and call.bias is not None


globals().update(functions(hits))
