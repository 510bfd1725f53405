"""float64 computed in float32 and cast back."""
from ._narrow import computed_in, via
import torch

globals().update(via(torch.float64, computed_in(torch.float32)))
