"""Targets: the implementations the suite checks. ``load_target(name)`` takes a built-in name
(``torch``, ``torch-no-mkldnn``, ``torch-cuda``, ``torch-cuda-no-tf32``, ``torch-compile``) or an
importable module path exposing ``conv2d`` and ``conv_transpose2d`` (and optionally the 1-D / 3-D
functions) with ``torch.nn.functional``'s signatures. Such a module may set ``DEVICE`` (default
``"cpu"``) and ``TF32`` (default False)."""

from __future__ import annotations

import functools
import importlib

from ..errors import ConvConfigError
from .base import FUNCTIONS, Target
from .builtin import BUILTIN

__all__ = ["Target", "load_target", "FUNCTIONS", "BUILTIN"]


@functools.lru_cache(maxsize=None)
def load_target(name: str) -> Target:
    """The target called ``name``; raises ConvConfigError (a ValueError) for unusable names.
    ``BASE@SPEC`` is a path variant of a built-in target (:mod:`conv_oracle.targets.variants`)."""
    if "@" in name:
        base, _, spec = name.partition("@")
        if base not in BUILTIN:
            raise ConvConfigError("target", name, f"path variants ('@') exist for the built-in targets "
                                                  f"{sorted(BUILTIN)}, not {base!r}")
        from ..fingerprint import cpu_info
        from .variants import variant
        return variant(load_target(base), name, spec, cpu_info()["flags"])
    if name in BUILTIN:
        return BUILTIN[name]()
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        raise ConvConfigError("target", name, f"neither a built-in target {sorted(BUILTIN)} nor an "
                                              f"importable module ({exc})") from exc
    functions = {fn: getattr(module, fn) for fn in FUNCTIONS if callable(getattr(module, fn, None))}
    missing = [fn for fn in ("conv2d", "conv_transpose2d") if fn not in functions]
    if missing:
        raise ConvConfigError("target", name, f"a target module must define {missing}")
    return Target(name, functions, getattr(module, "DEVICE", "cpu"), modules=False,
                  tf32=bool(getattr(module, "TF32", False)),
                  description=(module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else name)
