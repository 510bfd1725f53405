"""Layer 3, the targets (the implementations under test, and calling them): may import layers 0-2.

Targets: the implementations the suite checks. ``load_target(name)`` takes a built-in name
(``torch``, ``torch-no-mkldnn``, ``torch-cuda``, ``torch-cuda-no-tf32``, ``torch-compile``,
``onnxruntime``, ``jax``) or an importable module path exposing ``conv2d`` and ``conv_transpose2d`` (and
optionally the 1-D / 3-D functions) with ``torch.nn.functional``'s signatures. Such a module may set
``DEVICE`` (default ``"cpu"``), ``TF32`` (default False), ``TORCH_KERNELS`` (default True: its calls end
in torch's kernels) and ``CAPABILITY`` (see :mod:`conv_oracle.targets.capability`; default: torch's)."""

from __future__ import annotations

import functools
import importlib

from ..definition.errors import ConvConfigError
from .base import FUNCTIONS, MissingFunction, Target
from .builtin import BUILTIN
from .capability import OPTIONS, TORCH_REJECTIONS, Capability

__all__ = ["Target", "Capability", "MissingFunction", "load_target", "target_from_module", "FUNCTIONS", "BUILTIN", "MODULE_TARGETS",
           "OPTIONS", "TORCH_REJECTIONS"]

#: built-in names for targets that are modules of this package (their dependencies are optional)
MODULE_TARGETS = {"onnxruntime": "conv_oracle.targets.onnxruntime", "jax": "conv_oracle.targets.jax"}

#: module attributes that look like a capability but are not read (the capability lives in CAPABILITY)
_MISPLACED = ("DTYPES", "AUTOGRAD", "DEVICES", "REJECTS", "RELAXED", "OPTIONS", "MESSAGES")


@functools.lru_cache(maxsize=None)
def load_target(name: str) -> Target:
    """The target called ``name``; raises ConvConfigError (a ValueError) for unusable names.
    ``BASE@SPEC`` is a path variant of a built-in target (:mod:`conv_oracle.targets.variants`)."""
    if "@" in name:
        base, _, spec = name.partition("@")
        if base not in BUILTIN:
            raise ConvConfigError("target", name, f"path variants ('@') exist for the built-in targets "
                                                  f"{sorted(BUILTIN)}, not {base!r}")
        from ..machine.fingerprint import cpu_info
        from .variants import variant
        return variant(load_target(base), name, spec, cpu_info()["flags"])
    if name in BUILTIN:
        return BUILTIN[name]()
    try:
        module = importlib.import_module(MODULE_TARGETS.get(name, name))
    except ImportError as exc:
        raise ConvConfigError("target", name, f"neither a built-in target {sorted(BUILTIN | MODULE_TARGETS)} nor "
                                              f"an importable module ({exc})") from exc
    return target_from_module(module, name)


def target_from_module(module, name: str | None = None) -> Target:
    """A :class:`Target` from a module's functions, ``DEVICE``, ``TF32`` and ``CAPABILITY``."""
    name = name or module.__name__
    functions = {fn: getattr(module, fn) for fn in FUNCTIONS if callable(getattr(module, fn, None))}
    missing = [fn for fn in ("conv2d", "conv_transpose2d") if fn not in functions]
    if missing:
        raise ConvConfigError("target", name, f"a target module must define {missing}")
    misplaced = [a for a in _MISPLACED if hasattr(module, a)]
    if misplaced and not hasattr(module, "CAPABILITY"):
        raise ConvConfigError("target", name, f"module attributes {misplaced} are not read; declare "
                                              f"CAPABILITY = {{'dtypes': ..., 'autograd': ...}} instead")
    try:
        capability = Capability.declared(getattr(module, "CAPABILITY", None))
    except ConvConfigError as exc:
        raise ConvConfigError(f"target {name}: {exc.parameter}", exc.value, exc.rule) from None
    device = getattr(module, "DEVICE", "cpu")
    if device.split(":")[0] not in [d.split(":")[0] for d in capability.devices]:
        raise ConvConfigError(f"target {name}: DEVICE", device, f"not among CAPABILITY['devices']={capability.devices}")
    doc = (module.__doc__ or "").strip()
    return Target(name, functions, device, modules=False, tf32=bool(getattr(module, "TF32", False)),
                  description=doc.splitlines()[0] if doc else name, capability=capability,
                  torch_kernels=bool(getattr(module, "TORCH_KERNELS", True)))
