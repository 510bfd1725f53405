"""Planted fault behind torch-compile@dynamic: in a graph compiled for symbolic sizes (dynamic=True),
``aten.convolution`` gives every output value plus one. Graphs with static sizes are right."""

import torch

from ._compiled_fault import PlantedPass, add_one, functions, has_symbolic_shapes

CAPABILITY = {"options": ("padding_mode", "output_size")}

globals().update(functions({"dynamic"}, PlantedPass("dynamic", [torch.ops.aten.convolution.default], add_one,
                                                    when=has_symbolic_shapes)))
