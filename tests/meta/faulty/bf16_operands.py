"""float32 computed with operands rounded to bfloat16 (products and sums still float32)."""
from ._narrow import operands_rounded, via
import torch

globals().update(via(torch.float32, operands_rounded(lambda t: t.to(torch.bfloat16).to(torch.float32))))
