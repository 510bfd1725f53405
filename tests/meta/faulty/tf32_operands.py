"""float32 computed with operands rounded to TF32 (CUDA's default for cuDNN convolutions), planted on the CPU."""
from ._narrow import operands_rounded, tf32, via
import torch

globals().update(via(torch.float32, operands_rounded(tf32)))
