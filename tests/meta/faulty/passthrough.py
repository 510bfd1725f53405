"""A correct plugged-in target: torch.nn.functional through the module-path loader (the control)."""

from torch.nn.functional import conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d  # noqa: F401
