"""What a target (system under test) is: named conv functions, a device, a precision model and a
declared :class:`~conv_oracle.targets.capability.Capability`."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Callable

from ..definition.dtypes import facts
from .capability import Capability

FUNCTIONS = ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")


class MissingFunction(LookupError):
    """The target does not define the function a call needs (a plugged-in module without ``conv3d``):
    not a verdict on the target. Raised only by :func:`conv_oracle.targets.execution.invoke`; callers
    check :func:`~conv_oracle.targets.execution.supports` first. Anything else a target raises, a
    ``KeyError`` or ``IndexError`` (LookupErrors too) included, is the target's own doing and is judged."""


@dataclass(repr=False)
class Target:
    """A convolution implementation under test.

    ``functions`` maps names of :data:`FUNCTIONS` to callables with ``torch.nn.functional``'s
    signatures, taking and returning torch tensors on ``device``. ``modules`` says whether
    torch's ``nn`` modules run on it (module-only cases: ``padding_mode``, ``output_size``) when
    the target's own functions do not take them (``capability.options``).
    ``tf32`` marks float32 convolutions that round their operands to TF32.
    ``torch_kernels`` says whether the calls end in torch's own convolution kernels (built-in
    targets, and module targets unless they declare ``TORCH_KERNELS = False``): then each example
    records the ATen backend torch dispatches to, and known deviations of those kernels apply.
    ``env`` holds environment variables read when torch loads (ISA caps): they apply to the target's
    worker process (``conv_oracle.checks.isolation``), or need a process started with them;
    ``threads`` is the torch thread count its calls run with. ``observer`` (compiled targets,
    :class:`conv_oracle.targets.compiled.Compiled`) adds to each call's execution path what ran: its
    ``mark()`` before a backward pass, ``observe(path, mark)`` after a call or a backward pass.
    ``retained_mb_per_call``: memory a call keeps by design (a compiled target keeps each configuration's
    generated code loaded), added to the leak check's rate (:class:`conv_oracle.checks.bounds.RssWatch`).
    """

    name: str
    functions: dict[str, Callable]
    device: str = "cpu"
    modules: bool = False
    tf32: bool = False
    description: str = ""
    context: Callable[[], contextlib.AbstractContextManager] = field(default=contextlib.nullcontext)
    capability: Capability = field(default_factory=Capability)
    torch_kernels: bool = True
    env: dict[str, str] = field(default_factory=dict)
    threads: int | None = None
    observer: object | None = None
    retained_mb_per_call: float = 0.0

    def __repr__(self) -> str:  # one line: Hypothesis prints it in every falsifying example
        return f"Target({self.name!r}, device={self.device!r}, {self.capability.summary()})"

    def _repr_pretty_(self, printer, cycle) -> None:  # Hypothesis' and IPython's pretty printer
        printer.text(repr(self))

    @property
    def dtypes(self) -> tuple[str, ...]:
        return self.capability.dtypes

    def require_environment(self, environ=None) -> None:
        """Raise ConvConfigError when this process was not started with the variables in ``env``
        (ISA caps are read once, when torch loads)."""
        import os
        from ..definition.errors import ConvConfigError
        environ = os.environ if environ is None else environ
        missing = {k: v for k, v in self.env.items() if environ.get(k) != v}
        if missing:
            setting = " ".join(f"{k}={v}" for k, v in self.env.items())
            raise ConvConfigError("target", self.name, f"needs a process started with {setting} (read once when "
                                                       f"torch loads): use conv-oracle run --isa, or set them")

    def function(self, name: str) -> Callable | None:
        return self.functions.get(name)

    def unsupported(self, dtype: str | None = None, autograd: bool = False) -> str | None:
        """None if the target declares ``dtype`` (and autograd, when asked); else the reason to skip."""
        if dtype is not None and dtype not in self.capability.dtypes:
            return f"{self.name} does not support {dtype} (declared dtypes: {', '.join(self.capability.dtypes)})"
        if autograd and not self.capability.autograd:
            return f"{self.name} declares no autograd: gradients are not checked"
        return None

    def precision(self, dtype: str) -> tuple[float, float, float]:
        """``(u_in, u_acc, eta)``: operand rounding before products (TF32), accumulation roundoff,
        and per-product underflow error, for the rounding bound."""
        f = facts(dtype)
        u_in = facts("tf32").unit_roundoff if dtype == "float32" and self.tf32 else 0.0
        return u_in, f.unit_roundoff, f.underflow

    def exactness_dtype(self, dtype: str) -> str:
        """The mantissa that bounds exact integer arithmetic for ``dtype`` on this target."""
        return "tf32" if dtype == "float32" and self.tf32 else dtype
