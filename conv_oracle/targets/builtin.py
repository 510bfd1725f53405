"""The built-in targets: torch on the CPU (with and without oneDNN), on CUDA, and torch.compile'd."""

from __future__ import annotations

import contextlib

from .base import FUNCTIONS, Target


def _functional():
    import torch.nn.functional as F
    return {name: getattr(F, name) for name in FUNCTIONS}


def torch_cpu() -> Target:
    return Target("torch", _functional(), "cpu", modules=True, description="torch.nn.functional on the CPU")


def torch_no_mkldnn() -> Target:
    import torch

    def context():
        return torch.backends.mkldnn.flags(enabled=False)

    return Target("torch-no-mkldnn", _functional(), "cpu", modules=True, context=context,
                  description="torch.nn.functional on the CPU with oneDNN (mkldnn) disabled")


def torch_cuda() -> Target:
    import torch
    from ..machine.fingerprint import cuda_tf32_enabled, tf32_settings
    available = torch.cuda.is_available()
    tf32 = bool(available and cuda_tf32_enabled() and torch.cuda.get_device_capability()[0] >= 8)
    return Target("torch-cuda", _functional() if available else {}, "cuda", modules=available, tf32=tf32,
                  description=(f"torch.nn.functional on {torch.cuda.get_device_name()} "
                               f"(cuDNN conv TF32 {tf32_settings()})") if available
                  else "CUDA not available: its tests skip")


@contextlib.contextmanager
def _cudnn_conv_ieee():
    """float32 convolutions in IEEE float32 on cuDNN: through ``fp32_precision`` where torch has it
    (recent torch raises when it is mixed with the legacy ``allow_tf32`` flag), else the legacy flag."""
    import torch
    conv = getattr(torch.backends.cudnn, "conv", None)
    if conv is not None and hasattr(conv, "fp32_precision"):
        old = conv.fp32_precision
        conv.fp32_precision = "ieee"
        try:
            yield
        finally:
            conv.fp32_precision = old
        return
    old = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32 = old


def torch_cuda_no_tf32() -> Target:
    import torch
    target = torch_cuda()
    target.name, target.tf32 = "torch-cuda-no-tf32", False
    target.context = _cudnn_conv_ieee
    target.description += " with TF32 switched off"
    return target


#: memory a compiled call keeps by design (its configuration's generated code and graphs stay loaded, and
#: are not given back when dynamo resets): measured up to 3.8 MiB per call over 20 calls (2-D, forward and
#: backward compiled), one call 7.9 MiB; the leak check allows this much on top of its rate
RETAINED_MB = 6.0


def torch_compile(modes=frozenset()) -> Target:
    """``torch.compile``'d functions (Inductor on the CPU) in ``modes`` (:mod:`conv_oracle.targets.compiled`)."""
    from .capability import OPTIONS, Capability
    from .compiled import Compiled, mode_name
    compiled = Compiled(modes)
    mode = mode_name(compiled.modes)
    freezing = "freezing" in compiled.modes
    return Target("torch-compile", compiled.functions(), "cpu", observer=compiled, retained_mb_per_call=RETAINED_MB,
                  capability=Capability(autograd=not freezing, options=OPTIONS),
                  description=f"torch.compile'd torch.nn.functional (Inductor, {mode}"
                              f"{'; inference only' if freezing else '; backward compiled too'})")


BUILTIN = {
    "torch": torch_cpu,
    "torch-no-mkldnn": torch_no_mkldnn,
    "torch-cuda": torch_cuda,
    "torch-cuda-no-tf32": torch_cuda_no_tf32,
    "torch-compile": torch_compile,
}
