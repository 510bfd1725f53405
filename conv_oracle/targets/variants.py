"""Path variants of a built-in target: ``BASE@SPEC`` pins the execution path its calls take.

``SPEC`` is a comma-separated list of ``isa=LEVEL`` (or just ``LEVEL``; a oneDNN level such as
``avx2``, ``avx512_core``, ``avx512_core_bf16``, ``avx512_core_amx``) and ``threads=N``:
``torch@avx2``, ``torch@threads=1``, ``torch@isa=avx512_core_bf16,threads=2``; for ``torch-compile``
also its modes (:data:`conv_oracle.targets.compiled.MODES`, as words or ``mode=WORD``):
``torch-compile@freezing``, ``torch-compile@max-autotune,threads=1``, ``torch-compile@dynamic``.

* An ISA level caps oneDNN (``ONEDNN_MAX_CPU_ISA``) and ATen's kernels (``ATEN_CPU_CAPABILITY``).
  torch reads both once, when it loads, so the variant's calls need a process started with them:
  ``conv-oracle run --isa`` starts one per level; in any other process whose environment lacks
  them the variant is refused (:meth:`~conv_oracle.targets.Target.require_environment`). A level
  this CPU lacks is refused at once: a cap can only lower the level.
* ``threads=N`` runs every call (and its backward) with ``torch.set_num_threads(N)``; oneDNN picks
  kernels by thread count, so 1 and N threads are different paths.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace

from ..definition.errors import ConvConfigError
from ..machine.kernel_path import LEVEL_NAMES, aten_capability, cpu_isa_levels
from .base import Target


def parse_spec(name: str, spec: str) -> dict:
    """``{'isa': LEVEL or None, 'threads': N or None, 'modes': frozenset}`` from ``spec`` (modes only for
    ``torch-compile``); ConvConfigError on anything else."""
    from .compiled import MODES
    out = {"isa": None, "threads": None}
    modes = set()
    compiled = name.partition("@")[0] == "torch-compile"
    for item in filter(None, (s.strip() for s in spec.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            key, value = ("mode", item) if item.lower() in MODES else ("isa", item)
        key = key.strip().lower()
        if key == "mode":
            if not compiled:
                raise ConvConfigError("target", name, f"compile mode {value!r} applies to torch-compile only")
            if value.lower() not in MODES:
                raise ConvConfigError("target", name, f"compile mode {value!r} must be one of {', '.join(MODES)}")
            modes.add(value.lower())
        elif key == "isa":
            if value.upper() not in LEVEL_NAMES:
                levels = ", ".join(v.lower() for v in LEVEL_NAMES)
                if compiled and not sep:
                    raise ConvConfigError("target", name, f"{value!r} must be a compile mode ({', '.join(MODES)}) "
                                                          f"or an ISA level ({levels})")
                raise ConvConfigError("target", name, f"ISA level {value!r} must be one of {levels}")
            out["isa"] = value.upper()
        elif key == "threads":
            if not value.isdigit() or int(value) < 1:
                raise ConvConfigError("target", name, f"threads={value!r} must be a positive integer")
            out["threads"] = int(value)
        else:
            raise ConvConfigError("target", name, f"unknown path setting {key!r}: use isa=LEVEL and/or threads=N"
                                                  + (f" and/or a mode ({', '.join(MODES)})" if compiled else ""))
    if out == {"isa": None, "threads": None} and not modes:
        raise ConvConfigError("target", name, "an empty '@' spec: use isa=LEVEL and/or threads=N")
    out["modes"] = frozenset(modes)
    return out


def isa_env(level: str) -> dict:
    """The environment that caps torch at ``level`` (set before torch loads)."""
    return {"ONEDNN_MAX_CPU_ISA": level, "ATEN_CPU_CAPABILITY": aten_capability(level)}


def variant(base: Target, name: str, spec: str, cpu_flags) -> Target:
    """``base`` restricted to the path ``spec`` describes, named ``name``."""
    settings = parse_spec(name, spec)
    if settings["modes"]:  # a compiled target of its own: its functions compile in those modes
        from .builtin import torch_compile
        base = torch_compile(settings["modes"])
    env, context, notes = dict(base.env), base.context, []
    if settings["isa"]:
        levels = cpu_isa_levels(cpu_flags)
        if settings["isa"] not in levels:
            raise ConvConfigError("target", name, f"this CPU has ISA levels {', '.join(levels) or 'none'}; "
                                                  f"a cap can only lower the level, not raise it to {settings['isa']}")
        env.update(isa_env(settings["isa"]))
        notes.append(f"ISA capped at {settings['isa']}")
    threads = settings["threads"] or base.threads
    if settings["threads"]:
        inner = context

        @contextlib.contextmanager
        def context():
            import torch
            old = torch.get_num_threads()
            torch.set_num_threads(threads)
            try:
                with inner():
                    yield
            finally:
                torch.set_num_threads(old)

        notes.append(f"{threads} thread{'s' if threads > 1 else ''}")
    return replace(base, name=name, env=env, threads=threads, context=context,
                   description=f"{base.description} ({', '.join(notes)})" if notes else base.description)
