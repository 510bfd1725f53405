"""torch.nn.functional's 2-D convolutions, unchanged: what the planted targets are compared with."""

from torch.nn.functional import conv2d, conv_transpose2d  # noqa: F401
