"""JAX / XLA behind torch's signatures, with a planted fault: transposed convolutions drop the bias."""

import conv_oracle.targets.jax as jx

CAPABILITY = jx.CAPABILITY
conv1d, conv2d, conv3d = jx.conv1d, jx.conv2d, jx.conv3d


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return jx.conv_transpose2d(input, weight, None, stride, padding, output_padding, groups, dilation)
