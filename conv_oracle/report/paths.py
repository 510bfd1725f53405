"""Execution paths in the report: which ATen backend ran each (operator, dtype), per target, with the
gaps (an operator and dtype a target never ran), the memory layouts per (operator, dtype) and backend and, for an ISA matrix run, where each failure occurs."""

from __future__ import annotations

from collections import defaultdict

from ..definition.case import OPS
from ..definition.dtypes import FLOAT_DTYPES
from ..harness.records import JUDGED, Verdict
from ..machine.kernel_path import describe


def execution_paths(records: list[dict]) -> dict:
    """``{'backends', 'rows', 'gaps', 'paths'}``: one row per (target, op, dtype) with examples and
    failures per backend; ``paths`` lists each distinct (ISA, cap, ATen, threads) seen per target."""
    counts = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    backends, paths, targets = [], defaultdict(set), []
    for r in records:
        path = r.get("path") or (r.get("failure") or {}).get("path")
        if not path or r.get("verdict") not in JUDGED:
            continue
        target = r.get("target")
        targets.append(target)
        backend = path.get("backend") or "unknown"
        backends.append(backend)
        cell = counts[(target, r.get("op"), r.get("dtype"))][backend]
        cell[0] += 1
        cell[1] += r["verdict"] == Verdict.FAIL
        paths[target].add(describe({**path, "backend": None, "strides": None}).split(", ", 1)[-1])
    backends = sorted(set(backends))
    rows, gaps = [], []
    for target in dict.fromkeys(targets):
        for op in OPS:
            for dtype in FLOAT_DTYPES:
                per = counts.get((target, op, dtype), {})
                rows.append({"target": target, "op": op, "dtype": dtype,
                             "cells": {b: {"examples": per[b][0], "failed": per[b][1]} for b in per}})
                if not per:
                    gaps.append(f"{target} {op} {dtype}")
    return {"backends": backends, "rows": rows, "gaps": gaps,
            "paths": {t: sorted(p) for t, p in paths.items()}}


def layout_classes(records: list[dict]) -> dict:
    """``{'layouts', 'rows', 'gaps'}``: per (target, op, dtype), for each memory layout (as applied) the
    examples whose input or weight had it, per ATen backend; a gap is a layout that never ran there."""
    from ..targets.execution import LAYOUTS
    counts = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    targets = []
    for r in records:
        path = r.get("path") or (r.get("failure") or {}).get("path")
        if r.get("verdict") not in JUDGED or r.get("op") not in OPS or r.get("dtype") not in FLOAT_DTYPES:
            continue
        target = r.get("target")
        targets.append(target)
        backend = (path or {}).get("backend") or "unknown"
        for layout in {r.get("x_layout") or "contiguous", r.get("w_layout") or "contiguous"}:
            counts[(target, r["op"], r["dtype"])][layout][backend] += 1
    rows, gaps = [], []
    for target in dict.fromkeys(targets):
        for op in OPS:
            for dtype in FLOAT_DTYPES:
                per = counts.get((target, op, dtype), {})
                if not per:
                    continue  # the backend table reports an operator and dtype that never ran
                rows.append({"target": target, "op": op, "dtype": dtype,
                             "cells": {lay: dict(sorted(per[lay].items())) for lay in LAYOUTS if lay in per}})
                gaps += [f"{target} {op} {dtype} {lay}" for lay in LAYOUTS if lay not in per]
    return {"layouts": list(LAYOUTS), "rows": rows, "gaps": gaps}


def known_deviations(records: list[dict]) -> list[dict]:
    """Per known-deviation entry: examples it covered (expected deviations) and examples in its scope
    that passed; an entry with none covered was not reproduced in this run."""
    rows = defaultdict(lambda: {"matched": 0, "in_scope_passed": 0, "in_scope_failed": 0, "targets": set()})
    for r in records:
        if r.get("verdict") == Verdict.DEVIATION:
            row = rows[r.get("deviation")]
            row["matched"] += 1
            row["targets"].add(r.get("target"))
        for ident in r.get("deviations_in_scope") or []:  # a failure listed here was of another kind
            rows[ident]["in_scope_failed" if r.get("verdict") == Verdict.FAIL else "in_scope_passed"] += 1
    return [{"id": k, "matched": v["matched"], "in_scope_passed": v["in_scope_passed"],
             "in_scope_failed": v["in_scope_failed"],
             "targets": sorted(t for t in v["targets"] if t), "reproduced": v["matched"] > 0}
            for k, v in sorted(rows.items())]


def summarize(records: list[dict]) -> dict:
    return {"table": execution_paths(records), "layouts": layout_classes(records),
            "deviations": known_deviations(records)}


def _layout_text(per: dict | None) -> str:
    return ", ".join(f"{b} {n}" for b, n in per.items()) if per else ""


def _deviation_phrase(d: dict) -> str:
    other = (f"; {d['in_scope_failed']} in its scope failed with another kind of failure (not excused)"
             if d.get("in_scope_failed") else "")
    if d["reproduced"]:
        return (f"{d['matched']} example(s) deviated as expected ({', '.join(d['targets'])}); "
                f"{d['in_scope_passed']} other(s) in its scope passed" + other)
    return (f"NOT REPRODUCED: {d['in_scope_passed']} example(s) in its scope passed (fixed upstream, or scoped "
            f"too wide)" + other)


def _cell_text(c: dict | None) -> tuple[str, str]:
    if not c:
        return "", ""
    if c["failed"]:
        return f"{c['examples']} ({c['failed']} failed)", "n fail"
    return str(c["examples"]), "n ok"


def html(s: dict, td, table, e) -> str:
    """The HTML section (``td``, ``table``, ``e`` are the page's cell, table and escape helpers)."""
    p = s.get("paths") or {}
    t = p.get("table") or {"backends": [], "rows": [], "gaps": [], "paths": {}}
    if not t["rows"]:
        return ('<h2 id="paths">Execution paths</h2><p class="muted">No example recorded an ATen backend '
                '(a non-torch target, or torch without the private backend query).</p>')
    rows = []
    for r in t["rows"]:
        if not r["cells"]:
            rows.append([td(r["target"]), td(r["op"]), td(r["dtype"])] +
                        [td("0", "n gap", "never ran: a gap") for _ in t["backends"]])
            continue
        rows.append([td(r["target"]), td(r["op"]), td(r["dtype"])] +
                    [td(*_cell_text(r["cells"].get(b))) for b in t["backends"]])
    where = "".join(f"<li><b>{e(k)}</b>: {e('; '.join(v))}</li>" for k, v in t["paths"].items())
    gaps = (f"<p><b>{len(t['gaps'])} gap(s)</b>: {e('; '.join(t['gaps']))}</p>" if t["gaps"] else
            "<p>No gaps: every target ran every operator in every dtype.</p>")
    out = ('<h2 id="paths">Execution paths</h2><p class="muted">Examples per ATen backend torch dispatched to '
           '(torch._C._select_conv_backend), by target, operator and dtype. Amber: never ran.</p>'
           f"<ul>{where}</ul>{gaps}" + table(["target", "op", "dtype"] + t["backends"], rows))
    lay = p.get("layouts") or {}
    if lay.get("rows"):
        lrows = [[td(r["target"]), td(r["op"]), td(r["dtype"])] +
                 [td(_layout_text(r["cells"].get(c)), "n ok" if r["cells"].get(c) else "n gap",
                     "" if r["cells"].get(c) else "never ran in this layout: a gap") for c in lay["layouts"]]
                 for r in lay["rows"]]
        out += ('<h3 id="layouts">Memory layouts</h3><p class="muted">Examples whose input or weight had each '
                'layout (as applied; every record names the strides), per ATen backend. Amber: never ran.</p>'
                + table(["target", "op", "dtype"] + lay["layouts"], lrows))
    devs = p.get("deviations") or []
    if devs:
        out += ("<h3>Known deviations</h3>" + table(["entry", "this run"], [
            [td(d["id"]), td(_deviation_phrase(d), "" if d["reproduced"] else "n gap")] for d in devs]))
    return out


def markdown(s: dict, table) -> list[str]:
    p = s.get("paths") or {}
    t = p.get("table") or {"backends": [], "rows": [], "gaps": []}
    out = ["## Execution paths", ""]
    if not t["rows"]:
        out += ["No example recorded an ATen backend.", ""]
        t = {"backends": [], "rows": [], "gaps": []}
    rows = [[r["target"], r["op"], r["dtype"]] + [(_cell_text(r["cells"].get(b))[0] or "-") if r["cells"] else "**0 (gap)**"
                                                  for b in t["backends"]] for r in t["rows"]]
    out += [table(["target", "op", "dtype"] + t["backends"], rows), ""]
    if t["gaps"]:
        out += [f"Gaps: {'; '.join(t['gaps'])}", ""]
    lay = p.get("layouts") or {}
    if lay.get("rows"):
        out += ["### Memory layouts (examples per backend whose input or weight had the layout)", "",
                table(["target", "op", "dtype"] + lay["layouts"],
                      [[r["target"], r["op"], r["dtype"]] + [_layout_text(r["cells"].get(c)) or "**0 (gap)**"
                                                             for c in lay["layouts"]] for r in lay["rows"]]), ""]
    for d in p.get("deviations") or []:
        out.append(f"- known deviation `{d['id']}`: {_deviation_phrase(d)}")
    return out + [""]
