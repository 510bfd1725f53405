"""``summary.md``: the summary's tables in GitHub-flavoured Markdown, for CI logs and pull-request comments."""

from __future__ import annotations

from ..definition.case import OPS
from . import paths, where
from .text import ascii_map

MAX_SNIPPET_LINES = 40


def _cell(value) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def table(header: list, rows: list[list]) -> str:
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _matrix_cell(c: dict) -> str:
    if not c["applicable"]:
        return "n/a"
    if c["examples"] == 0:
        return "**0 (gap)**"
    return f"{c['examples']} (**{c['failed']} failed**)" if c["failed"] else str(c["examples"])


def headline(a: dict) -> str:
    """Examples drawn apart from shrinking attempts; the drawn ones' verdicts add up to their number."""
    shrink, shrink_failed = a.get("shrinking", 0), a.get("shrinking_failed", 0)
    d = a.get("drawn") or a
    text = f"{d['examples']} examples, {d['passed']} passed, {d['failed']} failed"
    if d.get("deviations"):
        text += f", {d['deviations']} known deviations"
    if d.get("not_checkable"):
        text += f", {d['not_checkable']} not checkable (refused)"
    return text + (f" (+ {shrink} shrinking attempts, {shrink_failed} failing)" if shrink else "")


def _header(s: dict) -> list[str]:
    meta, a = s["meta"], s["totals"]["all"]
    run = s.get("run_status", "complete")
    status = ("PASSED" if s["ok"] else "FAILED") if run == "complete" else f"{run.upper()} (incomplete run)"
    out = [f"# conv_oracle report: {status}", ""]
    if run != "complete":
        out += [f"**This run is {run}: a partial report.** The previous complete report stays at `latest/`.", ""]
    out += [f"{headline(a)}; seed: {meta.get('seed', '?')}; "
           f"targets: {', '.join(meta['targets'])}; profile: {meta.get('profile', '?')}; "
           f"pytest exit status: {meta.get('exit_code', '?')}"]
    if meta.get("fuzz"):
        out.append(f"Fuzzing: {meta['fuzz']}")
    if meta.get("example_database"):
        out.append(f"Example database: {meta['example_database']}")
    if meta.get("versions"):
        out.append(f"Versions: {meta['versions']}")
    for r in meta.get("runs") or []:
        out.append(f"Merged run: {r['folder']} ({r['started']}, {r['run_status']})")
    for env in meta.get("environment") or []:
        out.append(f"Environment: {env}")
    junit = s.get("junit")
    if junit:
        out.append(f"pytest: {junit['tests']} tests, {junit['passed']} passed, {junit['failed']} failed, "
                   f"{junit['error']} errors, {junit['skipped']} skipped")
    return out + [""]


def _totals(s: dict) -> list[str]:
    targets = s["meta"]["targets"]
    rows = [[t, *(s["totals"]["targets"][t][k] for k in ("examples", "passed", "failed"))] for t in targets]
    props = [[p["property"], *(p["targets"][t][k] for t in targets for k in ("examples", "failed"))]
             for p in s["properties"]]
    return ["## Totals per target", "", table(["target", "examples", "passed", "failed"], rows), "",
            "### Per property", "",
            table(["property"] + [f"{t}: {k}" for t in targets for k in ("examples", "failed")], props), ""]


def _coverage(s: dict) -> list[str]:
    cov = s["coverage"]
    header = ["parameter", "value"] + [f"{c['op']} / {c['target']}" for c in cov["columns"]]
    rows = [[p["label"] if i == 0 else "", row["value"], *(_matrix_cell(c) for c in row["cells"])]
            for p in cov["parameters"] for i, row in enumerate(p["rows"])]
    gaps = ((f"**{len(cov['gaps'])} gap(s)**: " + "; ".join(cov["gaps"])) if cov["gaps"]
            else "Every value listed was exercised (the values are the suite's own choice).")
    return ["## Coverage of the configuration space", "",
            f"Valid-configuration examples ({cov['examples']}) by regime, operator and target. {gaps}", "",
            *_three_way(s), table(header, rows), ""]


def three_way_lines(s: dict) -> list[str]:
    """One line per target: the share of 3-way feature combinations covered, and some missing ones."""
    tw = s.get("three_way") or {}
    out = []
    for t, c in (tw.get("targets") or {}).items():
        line = f"{t}: {c['covered']} of {c['required']} ({c['share']:.1%})"
        if c["missing"]:
            line += "; not covered, e.g. " + "; ".join(c["missing"][:3])
        out.append(line)
    return out


def _three_way(s: dict) -> list[str]:
    lines = three_way_lines(s)
    if not lines:
        return []
    tw = s["three_way"]
    return [f"3-way combinations of {len(tw['features'])} discrete features ({', '.join(tw['features'])}; "
            f"a covering array of {tw['rows']} rows runs every time, test_covering_row):", "",
            *(f"- {line}" for line in lines), ""]


def _distinct(s: dict) -> list[str]:
    rows = [[r["parameter"], " ".join(f"`{v}`" for v in r["values"].get("conv", [])),
             " ".join(f"`{v}`" for v in r["values"].get("conv_transpose", []))] for r in s["distinct"]]
    return ["## Distinct values seen per parameter", "", table(["parameter", *OPS], rows), ""]


def _skips(s: dict) -> list[str]:
    out = ["## Skip statistics", ""]
    for op, st in s["skips"].items():
        a, obs = st["all"], st["observed"]
        out += [f"### {op}: {st['what']}", "",
                f"{a['with_untouched']} of {a['examples']} examples ({_pct(a['share'])}) have {st['what']}; mean "
                f"fraction {_pct(a['mean_fraction'])}, max {_pct(a['max_fraction'])}. Observed in {obs['checks']} "
                f"checks: {obs['agree']} matched the prediction, {obs['disagree']} did not.", ""]
        rows = [[g["label"] if i == 0 else "", r["value"], r["examples"], f"{r['with_untouched']} ({_pct(r['share'])})",
                 _pct(r["mean_fraction"]), _pct(r["max_fraction"])]
                for g in st["groups"] for i, r in enumerate(g["rows"])]
        out += [table(["regime", "value", "examples", f"with {st['what']}", "mean fraction", "max fraction"], rows), ""]
    return out


def _bounds(s: dict) -> list[str]:
    if not s["bounds"]:
        return []
    rows = [[r["target"], r["dtype"], r["examples"], f"{r['median']:.3g}", f"{r['p95']:.3g}", f"{r['max']:.3g}"]
            for r in s["bounds"]]
    return ["## Share of the rounding bound used (float operands)", "",
            table(["target", "dtype", "examples", "median", "95th percentile", "max"], rows), ""]


def _errors(s: dict) -> list[str]:
    targets = s["meta"]["targets"]
    out = []
    if s["errors"]:
        rows = [[r["rule"], r["op"], *(r["targets"][t][k] for t in targets for k in ("examples", "failed"))]
                for r in s["errors"]]
        out += ["## Invalid configurations (must be rejected)", "",
                table(["rule", "op"] + [f"{t}: {k}" for t in targets for k in ("examples", "accepted (failed)")],
                      rows), ""]
    if s.get("skipped_tests"):
        out += ["### Skipped tests", "", table(["test", "reason"], [[c["test"], c["message"]]
                                                                   for c in s["skipped_tests"]]), ""]
    return out


def _maps(s: dict) -> list[str]:
    out = ["## Coverage maps", "", "`#` reached by some tap, `.` never read (conv input) / bias only "
           "(transposed conv output).", ""]
    for m in s["maps"]:
        out += [f"**{m['title']}**: `{m['describe']}`; {m['untouched']} of {m['cells']} {m['grid']} untouched "
                f"({_pct(m['fraction'])})", "", "```", ascii_map([[v == 0 for v in row] for row in m["counts"]]),
                "```", ""]
    return out


def _failures(s: dict) -> list[str]:
    out = [f"## Failures ({len(s['failures'])})", ""]
    if not s["failures"]:
        return out + ["None.", ""]
    for f in s["failures"]:
        out += [f"### `{f['test']}`", "", f"target `{f.get('target')}`, property `{f.get('property')}`, dtype "
                f"`{f.get('dtype')}`, {f.get('failing_examples')} failing example(s)", ""]
        if f.get("describe"):
            out += [f"`{f['describe']}`", ""]
        out += ["```", f.get("message") or "", "```", ""]
        if f.get("cells"):
            out += [table(["differing cell", "expected (oracle)", "got (target)"],
                          [[", ".join(map(str, c["index"])), c["expected"], c["got"]] for c in f["cells"]]), ""]
        if f.get("snippet"):
            lines = f["snippet"].splitlines()
            shown = lines[:MAX_SNIPPET_LINES]
            if len(lines) > MAX_SNIPPET_LINES:
                shown.append("# ... (the whole snippet is in records.jsonl)")
            out += [f"Reproduce with target {f.get('target_name') or f.get('target') or '(see the snippet)'}:", "", "```python", *shown, "```", ""]
    return out


def render(summary: dict) -> str:
    """The whole document."""
    parts = (_header(summary) + _totals(summary) + _failures(summary) + where.markdown(summary, table)
             + paths.markdown(summary, table)
             + _coverage(summary) + _distinct(summary)
             + _skips(summary) + _bounds(summary) + _errors(summary) + _maps(summary))
    return "\n".join(parts).rstrip() + "\n"
