"""Planted fault behind torch-compile@max-autotune: when Inductor compiles with max_autotune on,
``aten.convolution`` gives every output value plus one. Other compile modes and eager torch are right."""

import torch
import torch._inductor.config as inductor

from ._compiled_fault import PlantedPass, add_one, functions

CAPABILITY = {"options": ("padding_mode", "output_size")}

globals().update(functions({"max-autotune"}, PlantedPass("autotune", [torch.ops.aten.convolution.default], add_one,
                                                         when=lambda graph: bool(inductor.max_autotune))))
