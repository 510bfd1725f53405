"""A :class:`~conv_oracle.baseline.diff.Comparison` as Markdown (for people) or JSON (for tools).

The Markdown leads with what a team acts on: the result, what it means for these two machines, the
behaviours that changed (one line per dtype, feature and behaviour), the advice that fits, and only
then the per-case list.
"""

from __future__ import annotations

import json
from collections import defaultdict

from .diff import CLASSES, REGRESSION_CLASSES, Comparison
from .snapshot import hardware_slug

MAX_LISTED = 40
DIRECTION_NOTE = {"regression": " — now disagrees with the oracle (regression)",
                  "fix": " — now agrees with the oracle (a fix)", "change": ""}


def _cell(value) -> str:
    return "—" if value is None else f"`{value}`"


def _counts(header: dict) -> str:
    s = header.get("summary", {})
    return " / ".join(str(s.get(k, "?")) for k in ("accepted", "rejected", "unsupported", "mismatch"))


THREADS_NOTE = " (at N threads)"


def behaviour_groups(cmp: Comparison) -> list[tuple[str, str, str, str, list, str]]:
    """``(dtype, feature, behaviour, direction, changes, threads)`` over the regression-class changes,
    most cases first; ``threads`` says whether it showed at 1 thread, at N, or both."""
    groups: dict[tuple, list] = defaultdict(list)
    where: dict[tuple, set] = defaultdict(set)
    for c in cmp.regressions():
        for b in c.behaviours or [f"{c.cls}: {c.details[0] if c.details else ''}"]:
            dtype, _, text = b.partition(": ")
            n = text.endswith(THREADS_NOTE)
            key = (dtype, c.feature, text.removesuffix(THREADS_NOTE), c.direction)
            if c not in groups[key]:
                groups[key].append(c)
            where[key].add("N" if n else "1")
    out = []
    for key, items in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        threads = {"1": "at 1 thread", "N": "at N threads only"}.get("".join(sorted(where[key])), "at 1 and N threads")
        out.append((*key, items, threads))
    return out


def format_behaviour(dtype, feat, text, direction, items, threads) -> str:
    dims = sorted({it.call.split("(")[0][-2:] for it in items if it.call[:1].isalpha()})
    kind = {"regression": "regression", "fix": "fix"}.get(direction, "change")
    return (f"- **{dtype} {feat}**: {text} — {kind} ({len(items)} case{'s' if len(items) > 1 else ''}"
            f"{': ' + ', '.join(dims) if dims else ''}; {threads})")


def behaviours(cmp: Comparison) -> list[str]:
    """One line per (dtype, feature, behaviour, direction) over the regression-class changes."""
    return [format_behaviour(*g) for g in behaviour_groups(cmp)]


def advice(cmp: Comparison) -> str:
    """What to do next, for this situation (never "commit NEW" across hardware)."""
    new_hw = cmp.hardware[1]
    where = f"`reports/baselines/{hardware_slug(new_hw)}/`" if new_hw else "a folder named by its hardware class"
    if not cmp.regressions():
        if cmp.same_hardware:
            return (f"No contract change. NEW may be committed as this hardware's baseline of its torch version, "
                    f"under {where}.")
        return ("No contract change: the two agree on everything that must hold on any machine. Keep OLD as it is "
                f"(its bound shares belong to its machine); to follow bound shares on NEW's machine, commit NEW "
                f"under {where}.")
    if cmp.same_hardware:
        return ("Every change listed is real on this machine. Fix or report each regression; a change the team "
                "accepts goes into an ignore file (`CASE-ID  # reason` or `CLASS  # reason`, passed with `--ignore`). "
                f"Once the upgrade is adopted, record its baseline with `conv-oracle snapshot` under {where} and move "
                f"the pin in constraints.txt.")
    return ("OLD and NEW ran on different hardware, so a contract change is either the torch version or torch behaving "
            "differently on this CPU (another oneDNN kernel). Do **not** replace OLD with NEW: that turns OLD's "
            "machine red. If the torch versions are equal, the changes are this hardware's torch behaviour: report the "
            "regressions, and once reviewed record a baseline for this hardware class under "
            f"{where} (OLD stays), which the CI check then uses on this hardware. If the versions differ, separate "
            "version from hardware by comparing both versions on one machine.")


def markdown(cmp: Comparison, old_name: str, new_name: str) -> str:
    regressions = cmp.regressions()
    groups = cmp.by_class()
    lines = [f"# Convolution behaviour: `{old_name}` → `{new_name}`", ""]
    if regressions:
        cases = len({c.id for c in regressions})
        lines.append(f"**Result: {len(regressions)} contract change(s) in {cases} case(s)** ({cmp.compared} cases "
                     f"compared; exit status 1).")
    else:
        info = sum(1 for c in cmp.changes if not c.regression)
        lines.append(f"**Result: no contract change** ({cmp.compared} cases compared; {info} informational "
                     f"change(s); exit status 0).")
    lines += [""] + [f"> {n}" for n in cmp.notes] + [""]
    found = behaviours(cmp)
    lines += ["## Behaviours that changed", ""] + (found or ["- none"]) + [""]
    lines += ["## What to do", "", advice(cmp), ""]
    lines += ["## Environment", "", "| | OLD | NEW |", "|---|---|---|",
              f"| target | {_cell(cmp.old['target']['name'])} ({cmp.old['target'].get('device')}) | "
              f"{_cell(cmp.new['target']['name'])} ({cmp.new['target'].get('device')}) |"]
    for key, a, b in cmp.environment:
        mark = " **(changed)**" if a != b else ""
        lines.append(f"| {key}{mark} | {_cell(a)} | {_cell(b)} |")
    lines += [f"| cases: accepted / rejected / unsupported / disagreeing with the oracle | {_counts(cmp.old)} | "
              f"{_counts(cmp.new)} |",
              f"| corpus | v{cmp.old['corpus']['version']} `{cmp.old['corpus']['digest']}` | "
              f"v{cmp.new['corpus']['version']} `{cmp.new['corpus']['digest']}` |", ""]
    lines += ["## Changes per class", "", "| change | kind | cases |", "|---|---|---|"]
    for cls, title in CLASSES.items():
        kind = "contract (regression class)" if cls in REGRESSION_CLASSES else "informational"
        lines.append(f"| {title} | {kind} | {len(groups[cls])} |")
    for cls, title in CLASSES.items():
        items = groups[cls]
        if not items:
            continue
        kind = "contract" if cls in REGRESSION_CLASSES else "informational"
        lines += ["", f"### {title[0].upper() + title[1:]} ({len(items)}, {kind})", ""]
        for c in items[:MAX_LISTED]:
            lines.append(f"- **{c.label}** (`{c.id}`){DIRECTION_NOTE[c.direction]}  ")
            lines.append(f"  `{c.call}`  ")
            lines.append("  " + "; ".join(c.details))
        if len(items) > MAX_LISTED:
            lines.append(f"- … and {len(items) - MAX_LISTED} more (`--json` lists every one)")
    th = cmp.thresholds
    lines += ["", f"Precision drift (informational, same hardware only): a share of the rounding bound that moves more "
                  f"than {th.ratio:g}x and by more than {th.floor:g} of the bound. A share above 1 fails the property "
                  f"and is a values change. Exit status: 1 when any contract change is listed, else 0.", ""]
    return "\n".join(lines)


def to_json(cmp: Comparison, old_name: str, new_name: str) -> str:
    return json.dumps({"old_name": old_name, "new_name": new_name, "behaviours": behaviours(cmp),
                       "advice": advice(cmp), **cmp.to_dict()}, indent=2, sort_keys=True) + "\n"
