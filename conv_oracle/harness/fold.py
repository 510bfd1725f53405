"""The fold: for each example that went wrong somewhere, where it was wrong, where the same example was
right and where it was never reached, across *contexts*.

A context is what a record ran in: its target, its machine's hardware class and its torch version
(``machine``, added by :func:`conv_oracle.harness.records.load_in_context` from the ``environment``
line heading the record's part). One fold serves the ISA matrix (contexts differ by target:
``torch@isa=LEVEL,threads=N``), ``conv-oracle merge`` (the same target on several machines or torch
versions) and the cross-target comparison of one run (``--target torch --target onnxruntime``).

Two records are the same example when :func:`example_key` agrees: the property, the configuration,
dtype, mode, layouts, operand seed and rule. A context's verdict on an
example is ``wrong`` if any of its records failed, else ``deviation`` if one deviated as a known
deviation describes, else ``right``; not checkable examples count as not reached.
"""

from __future__ import annotations

import json
from collections import defaultdict
from itertools import islice

from .records import Verdict

#: a context's verdict on one example, worst first
WRONG, DEVIATION, RIGHT = "wrong", "deviation", "right"
_OF_VERDICT = {Verdict.FAIL: WRONG, Verdict.DEVIATION: DEVIATION, Verdict.PASS: RIGHT}
#: the properties a record holds enough to check again on another target (conv_oracle/suite/test_replay.py)
REPLAYABLE = frozenset({"forward_exact", "forward_float", "forward_covering", "layout_input", "layout_weight",
                        "gradient_input", "gradient_weight", "gradient_bias"})
MAX_REPLAYS = 40


def strip_target(rec: dict) -> str:
    """The record's test node id with its target parameter removed (``t.py::test_x[float32]``)."""
    test, target = rec.get("test", ""), rec.get("target", "")
    for old, new in ((f"[{target}-", "["), (f"-{target}]", "]"), (f"-{target}-", "-"), (f"[{target}]", "")):
        test = test.replace(old, new)
    return test


def example_key(rec: dict) -> str:
    """What makes two records the same example in different contexts: the property and what it was
    checked on (not the test that drew it: a replay on another target checks the same example)."""
    fields = {k: rec.get(k) for k in ("property", "case", "dtype", "mode", "x_layout", "w_layout", "seed", "rule")}
    return json.dumps(fields, sort_keys=True)


def context_of(rec: dict) -> tuple:
    """``(target, hardware class, torch version)``; the last two None where the record has no ``machine``."""
    m = rec.get("machine") or {}
    return rec.get("target"), m.get("class"), m.get("torch")


def labels(records: list[dict]) -> dict:
    """Context -> its label: the target, then ``on`` the hardware class where a target ran on several
    (only the words of the class that vary: ``cap=AVX2 aten=AVX2``), then ``with torch VERSION`` where a
    target and class ran several versions. A single-machine run's labels are its target names."""
    ctxs = list(dict.fromkeys(context_of(r) for r in records))
    by_target, by_pair = defaultdict(set), defaultdict(set)
    for t, cls, ver in ctxs:
        by_target[t].add(cls)
        by_pair[(t, cls)].add(ver)
    show_class = any(len(v) > 1 for v in by_target.values())
    show_torch = any(len(v) > 1 for v in by_pair.values())
    classes = sorted({c for _, c, _ in ctxs if c}, key=str)
    words = [set(c.split()) for c in classes]
    common = set.intersection(*words) if words else set()
    out = {}
    for t, cls, ver in ctxs:
        label = str(t)
        if show_class:
            varying = [w for w in (cls or "").split() if w not in common] if len(classes) > 1 else []
            label += f" on {' '.join(varying) or cls or 'unknown machine'}"
        if show_torch:
            label += f" with torch {ver or '?'}"
        out[(t, cls, ver)] = label
    return out


def relabel(records: list[dict]) -> list[dict]:
    """The records with ``target`` replaced by their context's label (copies; ``target_name`` keeps the
    target), so that per-target tables become per-context ones; the records themselves where every
    label is the target name."""
    names = labels(records)
    if all(label == ctx[0] for ctx, label in names.items()):
        return records
    return [{**r, "target": names[context_of(r)], "target_name": r.get("target")} for r in records]


def fold(records: list[dict]) -> list[dict]:
    """For each example wrong (or a known deviation) in some context: ``wrong_at``, ``deviation_at``,
    ``right_at`` and ``not_reached`` (context labels, in the order the records name them), with the
    test, property, dtype, configuration and the first wrong record's message. Empty with fewer than
    two contexts. Only meaningful across contexts that ran the same examples (the derandomized
    profile draws the same sequence in every process until a failure sends one into shrinking)."""
    names = labels(records)
    if len(names) < 2:
        return []
    order = list(names.values())
    seen = defaultdict(lambda: defaultdict(list))
    for r in records:
        if r.get("verdict") in _OF_VERDICT:
            seen[example_key(r)][names[context_of(r)]].append(r)
    out = []
    for key, per_ctx in seen.items():
        verdict = {c: min((_OF_VERDICT[x["verdict"]] for x in recs), key=(WRONG, DEVIATION, RIGHT).index)
                   for c, recs in per_ctx.items()}
        at = {v: [c for c in order if verdict.get(c) == v] for v in (WRONG, DEVIATION, RIGHT)}
        if not at[WRONG] and not at[DEVIATION]:
            continue
        first = per_ctx[(at[WRONG] or at[DEVIATION])[0]][0]
        out.append({"test": strip_target(first), "property": first.get("property"), "dtype": first.get("dtype"),
                    "case": first.get("case"), "wrong_at": at[WRONG], "deviation_at": at[DEVIATION],
                    "right_at": at[RIGHT], "not_reached": [c for c in order if c not in verdict],
                    "deviation": next((x.get("deviation") for c in at[DEVIATION] for x in per_ctx[c]
                                       if x.get("deviation")), None),
                    "message": ((first.get("failure") or {}).get("message") or "")[:300]})
    out.sort(key=lambda f: (not f["wrong_at"], -len(f["right_at"]), f["test"]))
    return out


def verdict_at(entry: dict, context: str) -> str:
    """``wrong``, ``deviation``, ``right`` or ``not reached``: one fold entry in one context."""
    for v, field in ((WRONG, "wrong_at"), (DEVIATION, "deviation_at"), (RIGHT, "right_at")):
        if context in entry[field]:
            return v
    return "not reached"


def fold_phrase(entry: dict) -> str:
    """``wrong at A, B; known deviation at C; right at D; not reached at E`` (empty parts left out)."""
    parts = [f"{what} at {', '.join(entry[field])}" for what, field in (
        ("wrong", "wrong_at"), ("known deviation", "deviation_at"), ("right", "right_at"),
        ("not reached", "not_reached")) if entry.get(field)]
    return "; ".join(parts)


def contexts(records: list[dict]) -> list[str]:
    """The context labels of ``records``, in the order the records name them."""
    return list(dict.fromkeys(labels(records).values()))


def replays(records: list[dict], targets: list[str], limit: int = MAX_REPLAYS) -> list[dict]:
    """The examples of a run with several targets to check again where they were never reached: per
    failing test and target the example pytest reported (else the last failing one), and the first
    example per test, target and known deviation that deviated; each a copy of its record with
    ``replay_on``, the targets of ``targets`` that never judged that example. Only records of a
    :data:`REPLAYABLE` property with their ``operands``; at most ``limit``, failures first."""
    reached = defaultdict(set)
    failing, deviating = defaultdict(list), {}
    for r in records:
        if r.get("verdict") in _OF_VERDICT:
            reached[example_key(r)].add(r.get("target"))
        if r.get("verdict") == Verdict.FAIL:
            failing[(strip_target(r), r.get("target"))].append(r)
        elif r.get("verdict") == Verdict.DEVIATION:
            deviating.setdefault((strip_target(r), r.get("target"), r.get("deviation")), r)
    chosen = [next((r for r in reversed(recs) if r.get("reported")), recs[-1]) for recs in failing.values()]
    out = []
    for r in chosen + list(deviating.values()):
        missing = [t for t in targets if t not in reached[example_key(r)]]
        if missing and r.get("property") in REPLAYABLE and isinstance(r.get("operands"), dict):
            out.append({**r, "replay_on": missing})
    return list(islice(out, limit))
