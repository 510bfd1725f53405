"""Planted fault behind torch-compile's compiled backward pass: the weight gradient of
``aten.convolution_backward`` in the generated backward code is doubled. The forward is right, and so is
eager torch's backward."""

import torch

from ._compiled_fault import PlantedPass, double_weight_grad, functions

CAPABILITY = {"options": ("padding_mode", "output_size")}

globals().update(functions(set(), PlantedPass("backward", [torch.ops.aten.convolution_backward.default],
                                              double_weight_grad)))
