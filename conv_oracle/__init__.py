"""conv_oracle: an independent numpy reference for convolutions and a differential suite for torch.

Reference operators (numpy in, numpy out, float64): :func:`conv1d`, :func:`conv2d`, :func:`conv3d`,
:func:`conv_transpose1d`, :func:`conv_transpose2d`, :func:`conv_transpose3d`.
Geometry: :func:`skipped_input_pixels`, :func:`bias_only_output_cells`, :func:`conv_output_size`,
:func:`conv_transpose_output_size`. Property-test building blocks: :mod:`conv_oracle.strategies`.
"""

from .errors import ConvConfigError
from .geometry import (bias_only_output_cells, conv_output_size, conv_transpose_output_size, effective_kernel,
                       skipped_input_pixels)
from .oracle import conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d
from .validation import ConvConfig, conv_config, conv_transpose_config

__version__ = "0.1.0"

__all__ = ["ConvConfigError", "ConvConfig", "conv_config", "conv_transpose_config", "conv1d", "conv2d", "conv3d",
           "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "skipped_input_pixels",
           "bias_only_output_cells", "conv_output_size", "conv_transpose_output_size", "effective_kernel"]
