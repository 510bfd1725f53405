"""A :class:`~conv_oracle.baseline.diff.Comparison` as Markdown (for people) or JSON (for tools)."""

from __future__ import annotations

import json

from .diff import CLASSES, REGRESSION_CLASSES, Comparison

MAX_LISTED = 40
DIRECTION_NOTE = {"regression": " — now disagrees with the oracle", "fix": " — now agrees with the oracle (a fix)",
                  "change": ""}


def _cell(value) -> str:
    return "—" if value is None else f"`{value}`"


def _counts(header: dict) -> str:
    s = header.get("summary", {})
    return " / ".join(str(s.get(k, "?")) for k in ("accepted", "rejected", "unsupported", "mismatch"))


def markdown(cmp: Comparison, old_name: str, new_name: str) -> str:
    regressions = cmp.regressions()
    groups = cmp.by_class()
    lines = [f"# Convolution behaviour: `{old_name}` → `{new_name}`", ""]
    if regressions:
        cases = len({c.id for c in regressions})
        lines.append(f"**Result: {len(regressions)} regression-class change(s) in {cases} case(s)** "
                     f"({cmp.compared} cases compared). Review each below; once understood, commit NEW as the "
                     f"baseline for its torch version.")
    else:
        info = sum(1 for c in cmp.changes if not c.regression)
        lines.append(f"**Result: no regression-class changes** ({cmp.compared} cases compared; "
                     f"{info} informational change(s)).")
    lines += [""] + [f"> Note: {n}" for n in cmp.notes] + ([""] if cmp.notes else [])
    lines += ["| | OLD | NEW |", "|---|---|---|",
              f"| target | {_cell(cmp.old['target']['name'])} ({cmp.old['target'].get('device')}) | "
              f"{_cell(cmp.new['target']['name'])} ({cmp.new['target'].get('device')}) |"]
    for key, a, b in cmp.environment:
        mark = " **(changed)**" if a != b else ""
        lines.append(f"| {key}{mark} | {_cell(a)} | {_cell(b)} |")
    lines += [f"| cases: accepted / rejected / unsupported / disagreeing with the oracle | {_counts(cmp.old)} | "
              f"{_counts(cmp.new)} |",
              f"| corpus | v{cmp.old['corpus']['version']} `{cmp.old['corpus']['digest']}` | "
              f"v{cmp.new['corpus']['version']} `{cmp.new['corpus']['digest']}` |", ""]
    lines += ["## Summary", "", "| change | class | cases |", "|---|---|---|"]
    for cls, title in CLASSES.items():
        kind = "regression" if cls in REGRESSION_CLASSES else "informational"
        lines.append(f"| {title} | {kind} | {len(groups[cls])} |")
    for cls, title in CLASSES.items():
        items = groups[cls]
        if not items:
            continue
        kind = "regression class" if cls in REGRESSION_CLASSES else "informational"
        lines += ["", f"## {title[0].upper() + title[1:]} ({len(items)}, {kind})", ""]
        for c in items[:MAX_LISTED]:
            lines.append(f"- **{c.label}** (`{c.id}`){DIRECTION_NOTE[c.direction]}  ")
            lines.append(f"  `{c.call}`  ")
            lines.append("  " + "; ".join(c.details))
        if len(items) > MAX_LISTED:
            lines.append(f"- … and {len(items) - MAX_LISTED} more (`--json` lists every one)")
    th = cmp.thresholds
    lines += ["", f"Precision drift rule: a share of the rounding bound that grows more than {th.ratio:g}x and by more "
                  f"than {th.floor:g} of the bound (a share above 1 is a mismatch and reported as one). Exit status: "
                  f"1 when any regression-class change is listed, else 0.", ""]
    return "\n".join(lines)


def to_json(cmp: Comparison, old_name: str, new_name: str) -> str:
    return json.dumps({"old_name": old_name, "new_name": new_name, **cmp.to_dict()}, indent=2, sort_keys=True) + "\n"
