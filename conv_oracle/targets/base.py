"""What a target (system under test) is: named conv functions, a device, and a precision model."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Callable

FUNCTIONS = ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")

#: unit roundoff per dtype name
UNIT_ROUNDOFF = {"float64": 2.0**-53, "float32": 2.0**-24, "float16": 2.0**-11, "bfloat16": 2.0**-8}
#: half the smallest subnormal: the absolute error one underflowing product may add
UNDERFLOW = {"float64": 2.0**-1075, "float32": 2.0**-150, "float16": 2.0**-25, "bfloat16": 2.0**-134}


@dataclass
class Target:
    """A convolution implementation under test.

    ``functions`` maps names of :data:`FUNCTIONS` to callables with ``torch.nn.functional``'s
    signatures, taking and returning torch tensors on ``device``. ``modules`` says whether
    torch's ``nn`` modules run on it (module-only cases: ``padding_mode``, ``output_size``).
    ``tf32`` marks float32 convolutions that round their operands to TF32.
    """

    name: str
    functions: dict[str, Callable]
    device: str = "cpu"
    modules: bool = False
    tf32: bool = False
    description: str = ""
    context: Callable[[], contextlib.AbstractContextManager] = field(default=contextlib.nullcontext)
    dtypes: tuple[str, ...] = ("float32", "float64", "float16", "bfloat16")

    def function(self, name: str) -> Callable | None:
        return self.functions.get(name)

    def precision(self, dtype: str) -> tuple[float, float, float]:
        """``(u_in, u_acc, eta)``: operand rounding before products (TF32), accumulation roundoff,
        and per-product underflow error, for the rounding bound."""
        if dtype == "float32" and self.tf32:
            return 2.0**-11, UNIT_ROUNDOFF["float32"], UNDERFLOW["float32"]
        return 0.0, UNIT_ROUNDOFF[dtype], UNDERFLOW[dtype]

    def exactness_dtype(self, dtype: str) -> str:
        """The mantissa that bounds exact integer arithmetic for ``dtype`` on this target."""
        return "tf32" if dtype == "float32" and self.tf32 else dtype
