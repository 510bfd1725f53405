"""Planted fault behind torch-compile@freezing: the convolution oneDNN runs with the prepacked (frozen)
weight, ``mkldnn._convolution_pointwise``, gives every output value plus one. Only the freezing path
calls that op; eager torch and the unfrozen compiled code are right."""

import torch

from ._compiled_fault import PlantedPass, add_one, functions

_OPS = [torch.ops.mkldnn._convolution_pointwise.default, torch.ops.mkldnn._convolution_transpose_pointwise.default]
CAPABILITY = {"autograd": False, "options": ("padding_mode", "output_size")}

globals().update(functions({"freezing"}, PlantedPass("freezing", _OPS, add_one)))
