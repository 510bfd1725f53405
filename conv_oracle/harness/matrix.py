"""The ISA x threads matrix: one suite run per oneDNN ISA level this CPU has, at 1 and N threads.

ISA caps are read once, when torch loads, so each level runs in a process of its own, started with
``ONEDNN_MAX_CPU_ISA`` / ``ATEN_CPU_CAPABILITY`` (:func:`conv_oracle.targets.variants.isa_env`); the
thread counts are in-process variants (``torch@isa=LEVEL,threads=N``). :func:`plan` lists the runs;
:func:`fold` joins their records: for each failing example, the levels where it fails, where the
same example passes, and where it was not reached.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict

from ..definition.errors import ConvConfigError
from ..machine.kernel_path import LEVEL_NAMES, cpu_isa_levels
from ..targets.variants import isa_env
from .records import JUDGED, Verdict


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


def _example_key(rec: dict) -> str:
    """What makes two records the same example on different targets: the test (its target parameter
    removed), the configuration, dtype, mode, layouts and operand seed."""
    test, target = rec.get("test", ""), rec.get("target", "")
    for old, new in ((f"[{target}-", "["), (f"-{target}]", "]"), (f"-{target}-", "-"), (f"[{target}]", "")):
        test = test.replace(old, new)
    fields = {k: rec.get(k) for k in ("property", "case", "dtype", "mode", "x_layout", "w_layout", "seed", "rule")}
    return test + " " + json.dumps(fields, sort_keys=True)


def fold(records: list[dict]) -> list[dict]:
    """For each example that failed on some target: where it failed, passed and was not reached.
    Only meaningful across targets that ran the same examples (the derandomized profile draws the
    same sequence in every process until a failure sends one of them into shrinking)."""
    targets = list(dict.fromkeys(r.get("target") for r in records))
    if len(targets) < 2:
        return []
    seen = defaultdict(dict)
    for r in records:
        if r.get("verdict") in JUDGED:
            seen[_example_key(r)].setdefault(r.get("target"), []).append(r)
    out = []
    for key, per_target in seen.items():
        verdicts = {t: (Verdict.FAIL if any(x["verdict"] == Verdict.FAIL for x in recs) else Verdict.PASS)
                    for t, recs in per_target.items()}
        wrong = [t for t in targets if verdicts.get(t) == Verdict.FAIL]
        if not wrong:
            continue
        first = per_target[wrong[0]][0]
        out.append({"test": key.split(" ", 1)[0], "property": first.get("property"), "dtype": first.get("dtype"),
                    "case": first.get("case"), "wrong_at": wrong,
                    "right_at": [t for t in targets if verdicts.get(t) == Verdict.PASS],
                    "not_reached": [t for t in targets if t not in verdicts],
                    "message": ((first.get("failure") or {}).get("message") or "")[:300]})
    out.sort(key=lambda f: (-len(f["right_at"]), f["test"]))
    return out


def fold_phrase(entry: dict) -> str:
    """``wrong at A, B; right at C; not reached at D``."""
    parts = [f"wrong at {', '.join(entry['wrong_at'])}"]
    if entry["right_at"]:
        parts.append(f"right at {', '.join(entry['right_at'])}")
    if entry["not_reached"]:
        parts.append(f"not reached at {', '.join(entry['not_reached'])}")
    return "; ".join(parts)
