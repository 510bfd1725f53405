"""faulty.cell_fault under another target name: the covering array catches it all the same."""

from faulty.cell_fault import conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d  # noqa: F401
