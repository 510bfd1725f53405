"""Where each failure occurs: the fold (:mod:`conv_oracle.harness.fold`) in the report, side by side.

One column per context (target, hardware class, torch version), one row per example that was wrong or
a known deviation somewhere: "wrong" where it failed, "right" where the same example passed, "known
deviation", or "not reached". The ISA matrix, a run with several targets (torch right, XLA wrong here)
and a merge across machines all read the same way. Also the findings ledger's entries this report
touched (:mod:`.ledger`)."""

from __future__ import annotations

import json
from collections import defaultdict

from ..definition.case import Case
from ..harness.fold import context_of, contexts, fold, fold_phrase, labels, verdict_at

MAX_ROWS = 200
_CELL_CLASS = {"wrong": "fail", "right": "ok", "deviation": "gap", "not reached": "na"}


def summarize(records: list[dict]) -> dict:
    """``{'contexts': [{label, target, hardware_class, torch, cpu, examples}], 'examples': fold entries}``;
    ``records`` as loaded (before the per-context relabelling)."""
    names = labels(records)
    rows = {}
    counts = defaultdict(int)
    for r in records:
        ctx = context_of(r)
        counts[ctx] += 1
        if ctx not in rows:
            rows[ctx] = {"label": names[ctx], "target": ctx[0], "hardware_class": ctx[1], "torch": ctx[2],
                         "cpu": (r.get("machine") or {}).get("cpu")}
    entries = fold(records)
    for e in entries:
        e["describe"] = _describe(e.get("case"))
    return {"contexts": [{**row, "examples": counts[ctx]} for ctx, row in rows.items()], "examples": entries,
            "order": contexts(records)}


def _describe(case) -> str:
    try:
        return Case.from_dict(case).describe()
    except (KeyError, TypeError, ValueError):
        return json.dumps(case)


def html(s: dict, td, table, e) -> str:
    w = s.get("where") or {"contexts": [], "examples": [], "order": []}
    ctx_rows = [[td(c["label"]), td(c["target"]), td(c["torch"]), td(c["hardware_class"]), td(c["cpu"]),
                 td(c["examples"], "n")] for c in w["contexts"]]
    out = ('<h2 id="where">Where each failure occurs</h2><p class="muted">Contexts: the target, the machine\'s '
           "hardware class and the torch version each example ran in.</p>"
           + table(["context", "target", "torch", "hardware class", "CPU", "examples"], ctx_rows))
    if len(w["order"]) < 2:
        out += '<p class="muted">One context: nothing to compare side by side.</p>'
    elif not w["examples"]:
        out += "<p>No example was wrong in any context.</p>"
    else:
        rows = []
        for f in w["examples"][:MAX_ROWS]:
            cells = [td(f["test"]), td(f["dtype"]), f'<td><code>{e(f["describe"])}</code></td>']
            for c in w["order"]:
                v = verdict_at(f, c)
                cells.append(td("known deviation" if v == "deviation" else v, _CELL_CLASS[v],
                                (f.get("deviation") or "") if v == "deviation" else ""))
            rows.append(cells + [td(fold_phrase(f))])
        more = (f'<p class="muted">{len(w["examples"]) - MAX_ROWS} more in summary.json.</p>'
                if len(w["examples"]) > MAX_ROWS else "")
        out += ('<p class="muted">The same example (test, configuration, dtype, layouts, operands) in every '
                "context: red wrong, green right, amber a known deviation, grey not reached.</p>"
                + table(["test", "dtype", "configuration", *w["order"], "in one line"], rows, "fold") + more)
    return out + _findings_html(s, td, table)


def markdown(s: dict, table) -> list[str]:
    w = s.get("where") or {"contexts": [], "examples": [], "order": []}
    out = ["## Where each failure occurs", "",
           table(["context", "target", "torch", "hardware class", "CPU", "examples"],
                 [[c["label"], c["target"], c["torch"], c["hardware_class"], c["cpu"], c["examples"]]
                  for c in w["contexts"]]), ""]
    if len(w["order"]) >= 2:
        out += [f"- `{f['test']}` {f['dtype']} `{f['describe']}`: {fold_phrase(f)}" for f in w["examples"][:MAX_ROWS]]
        out += ["No example was wrong in any context."] if not w["examples"] else []
        out.append("")
    return out + _findings_markdown(s)


def _findings_html(s: dict, td, table) -> str:
    found = s.get("findings")
    if found is None:
        return ""
    rows = [[td(f["id"]), td(f["state"] + (f" in {f['fixed_in']}" if f.get("fixed_in") else ""),
                              "fail" if f["state"] in ("new", "still failing") else ""),
             td(" ".join(str(f["key"][k]) for k in ("property", "op", "dtype", "backend", "layouts", "kind"))),
             td(f.get("describe")), td(f["first_seen"]), td(f["last_seen"])] for f in found]
    return ("<h3>Findings ledger</h3>"
            + (table(["id", "state", "defect", "configuration", "first seen", "last seen"], rows) if rows
               else '<p class="muted">This report changed no entry of the ledger.</p>'))


def _findings_markdown(s: dict) -> list[str]:
    from .ledger import line
    found = s.get("findings")
    if found is None:
        return []
    return ["### Findings ledger", "", *(f"- {line(f)}" for f in found), *([] if found else ["No entry changed."]), ""]
