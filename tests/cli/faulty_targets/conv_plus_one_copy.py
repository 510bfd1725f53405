"""conv_plus_one under another name (another machine's or build's name for the same faulty kernels): the
replay tests show that a failure one target saved in the example database fails this one too."""

from conv_plus_one import conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d  # noqa: F401
