"""float16 computed in bfloat16 and cast back."""
from ._narrow import computed_in, via
import torch

globals().update(via(torch.float16, computed_in(torch.bfloat16)))
