"""Layer 1, the numpy reference (gather, scatter, applied to a case): numpy, threadpoolctl and the definition only."""

from .functional import (conv, conv1d, conv2d, conv3d, conv_transpose, conv_transpose1d, conv_transpose2d,
                         conv_transpose3d)

__all__ = ["conv", "conv1d", "conv2d", "conv3d", "conv_transpose", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d"]
