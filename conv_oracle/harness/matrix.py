"""The ISA x threads matrix: one suite run per oneDNN ISA level this CPU has, at 1 and N threads.

ISA caps are read once, when torch loads, so each level runs in a process of its own, started with
``ONEDNN_MAX_CPU_ISA`` / ``ATEN_CPU_CAPABILITY`` (:func:`conv_oracle.targets.variants.isa_env`); the
thread counts are in-process variants (``torch@isa=LEVEL,threads=N``). :func:`plan` lists the runs;
:func:`conv_oracle.harness.fold.fold` (re-exported here) joins their records: for each failing example,
the levels where it fails, where the same example passes, and where it was not reached.
"""

from __future__ import annotations

import os

from ..definition.errors import ConvConfigError
from ..machine.kernel_path import LEVEL_NAMES, cpu_isa_levels
from ..targets.variants import isa_env
from .fold import fold, fold_phrase  # noqa: F401  (the ISA matrix's fold is the one fold)


def levels_for(spec: str, flags) -> list[str]:
    """``all`` = every level this CPU has; otherwise a comma-separated list, each checked."""
    have = cpu_isa_levels(flags)
    if not have:
        raise ConvConfigError("--isa", spec, "this CPU has no oneDNN x86 ISA level (AVX2 or better) to cap")
    if spec.strip().lower() == "all":
        return have
    out = []
    for item in (s.strip().upper() for s in spec.split(",") if s.strip()):
        if item not in LEVEL_NAMES:
            raise ConvConfigError("--isa", spec, f"{item!r} is not one of all, "
                                                 f"{', '.join(v.lower() for v in LEVEL_NAMES)}")
        if item not in have:
            raise ConvConfigError("--isa", spec, f"this CPU has {', '.join(have)}; it lacks {item}")
        out.append(item)
    return list(dict.fromkeys(out))


def thread_counts(spec: str | None) -> list[int]:
    """``1,N`` by default, N = the machine's logical CPUs (one value if that is 1)."""
    if not spec:
        return sorted({1, os.cpu_count() or 1})
    try:
        counts = [int(s) for s in spec.split(",") if s.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise ConvConfigError("--threads", spec, "expected positive integers separated by commas, e.g. 1,2")
    return list(dict.fromkeys(counts))


def plan(isa: str, threads: str | None, flags, base: str = "torch") -> list[dict]:
    """One entry per process: ``{'level', 'env', 'targets'}``."""
    counts = thread_counts(threads)
    return [{"level": level, "env": isa_env(level),
             "targets": [f"{base}@isa={level.lower()},threads={n}" for n in counts]}
            for level in levels_for(isa, flags)]
