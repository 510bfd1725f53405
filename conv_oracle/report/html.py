"""``index.html``: the summary as one self-contained page (inline CSS and SVG, no scripts, no
network). Every piece of text from the records is escaped."""

from __future__ import annotations

from html import escape

from ..definition.case import OPS
from . import paths, svg, where

CSS = """
body{font:14px/1.45 -apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1d2330;margin:0;background:#f6f7f9}
main{max-width:1200px;margin:0 auto;padding:18px 28px 60px}
h1{font-size:24px;margin:8px 0 4px}h2{font-size:19px;margin:34px 0 8px;border-bottom:2px solid #dde1e7;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
.banner{padding:12px 16px;border-radius:6px;font-size:16px;font-weight:600;margin:12px 0}
.banner.ok{background:#e3f4e6;color:#15602a;border:1px solid #9fd5aa}.banner.bad{background:#fbe4e4;color:#8a1c1c;border:1px solid #eba5a5}
table{border-collapse:collapse;background:#fff;margin:6px 0 12px;font-size:13px}
th,td{border:1px solid #d9dde3;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
td.ok{background:#eef8f0}td.fail{background:#f9d4d4;color:#8a1c1c;font-weight:600}
td.gap{background:#fff1c7;color:#7a5500;font-weight:600}td.na{background:#f2f2f2;color:#9aa0a8}
.meta td:first-child{color:#5a6270;white-space:nowrap}
code,pre{font-family:SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
pre{background:#fff;border:1px solid #d9dde3;padding:8px 10px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
.maps{display:flex;flex-wrap:wrap;gap:14px}
figure{background:#fff;border:1px solid #d9dde3;border-radius:6px;margin:0;padding:10px 12px;max-width:560px}
figcaption{font-size:12px;color:#444;margin-top:4px}figcaption b{color:#1d2330;font-size:13px}
.fail-card{background:#fff;border:1px solid #eba5a5;border-left:5px solid #c43b3b;border-radius:6px;padding:8px 14px;margin:12px 0}
.bar{display:inline-block;height:9px;background:#6baed6;vertical-align:middle;margin-right:6px}
.muted{color:#6a7280}.values code{background:#eef1f5;padding:0 4px;margin:0 2px;border-radius:3px;display:inline-block}
nav a{margin-right:12px}
"""


def _e(value) -> str:
    return escape("" if value is None else str(value))


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _table(header: list[str], rows: list[list[str]], cls: str = "") -> str:
    """Header cells are escaped here; row cells arrive as ready HTML (``<td>`` elements)."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    thead = f"<thead><tr>{head}</tr></thead>" if any(header) else ""
    body = "".join(f"<tr>{''.join(r)}</tr>" for r in rows)
    return f'<table class="{cls}">{thead}<tbody>{body}</tbody></table>'


def _td(value, cls: str = "", title: str = "") -> str:
    attrs = (f' class="{cls}"' if cls else "") + (f' title="{_e(title)}"' if title else "")
    return f"<td{attrs}>{_e(value)}</td>"


def _tally_cells(t: dict) -> list[str]:
    return [_td(t["examples"], "n"), _td(t["passed"], "n"), _td(t["failed"], "n fail" if t["failed"] else "n"),
            _td(t.get("deviations", 0), "n")]


def _header(s: dict) -> str:
    meta, tot = s["meta"], s["totals"]
    a = tot["all"]
    from .markdown import headline
    run = s.get("run_status", "complete")
    if run != "complete":
        banner = (f'<div class="banner bad">{_e(run.upper())}: incomplete run, a partial report '
                  f'({_e(headline(a))}); the previous complete report stays at latest/</div>')
    elif s["ok"]:
        banner = f'<div class="banner ok">PASSED: {_e(headline(a))}, no failures</div>'
    else:
        n = len(s["failures"])
        code = meta.get("exit_code")
        banner = (f'<div class="banner bad">FAILED: {n} failing test(s); {_e(headline(a))}'
                  f'{_e(f"; pytest exit status {code}") if code not in (None, 0, 1) else ""}</div>')
    rows = [[_td(k), _td(v)] for k, v in (
        ("run", run), ("targets", ", ".join(meta.get("targets", []))), ("Hypothesis profile", meta.get("profile")),
        ("seed", meta.get("seed")), ("example database", meta.get("example_database")), ("fuzzing", meta.get("fuzz")),
        ("workers", meta.get("workers")), ("pytest exit status", meta.get("exit_code")),
        ("started", meta.get("started")), ("duration", f"{meta['duration_s']:.1f} s" if "duration_s" in meta else None),
        ("command", meta.get("command")), ("versions", meta.get("versions")),
        ("merged runs", "; ".join(f"{r['folder']} ({r['started']}, {r['run_status']})" for r in meta.get("runs") or [])),
        ("environment", " | ".join(meta.get("environment") or [])))
        if v not in (None, "")]
    junit = s.get("junit")
    if junit:
        rows.append([_td("pytest tests"), _td(f"{junit['tests']} tests: {junit['passed']} passed, {junit['failed']} "
                                             f"failed, {junit['error']} errors, {junit['skipped']} skipped")])
    sections = (("totals", "totals"), ("failures", f"failures ({len(s['failures'])})"), ("where", "where they occur"),
                ("paths", "execution paths"),
                ("coverage", "coverage matrix"), ("distinct", "values seen"), ("skips", "skip statistics"),
                ("bounds", "rounding bound"), ("errors", "invalid configurations"), ("maps", "coverage maps"))
    nav = "".join(f'<a href="#{k}">{_e(v)}</a>' for k, v in sections)
    return (f"<h1>conv_oracle report</h1>{banner}"
            f"{_table(['', ''], rows, 'meta')}<nav>{nav}</nav>")


def _totals(s: dict) -> str:
    targets = s["meta"]["targets"]
    rows = [[_td(t), *_tally_cells(s["totals"]["targets"][t])] for t in targets]
    out = '<h2 id="totals">Totals per target</h2>' + _table(["target", "examples", "passed", "failed", "known deviations"], rows)
    header = ["property"] + [f"{t}: {k}" for t in targets for k in ("examples", "failed")]
    prop_rows = []
    for p in s["properties"]:
        cells = [_td(p["property"])]
        for t in targets:
            tl = p["targets"][t]
            cells += [_td(tl["examples"], "n"), _td(tl["failed"], "n fail" if tl["failed"] else "n")]
        prop_rows.append(cells)
    return out + "<h3>Per property</h3>" + _table(header, prop_rows)


def _matrix_cell(c: dict) -> str:
    if not c["applicable"]:
        return _td("n/a", "na", "not applicable to this operator")
    if c["examples"] == 0:
        return _td("0", "n gap", "never exercised: a gap")
    if c["failed"]:
        return _td(f"{c['examples']} ({c['failed']} failed)", "n fail")
    return _td(c["examples"], "n ok")


def _coverage(s: dict) -> str:
    cov = s["coverage"]
    cols = cov["columns"]
    ops = list(dict.fromkeys(c["op"] for c in cols))
    per_op = len(cols) // max(1, len(ops))
    head1 = "<tr><th rowspan=2>parameter</th><th rowspan=2>value</th>" + "".join(
        f'<th colspan="{per_op}">{_e(op)}</th>' for op in ops) + "</tr>"
    head2 = "<tr>" + "".join(f"<th>{_e(c['target'])}</th>" for c in cols) + "</tr>"
    body = []
    for p in cov["parameters"]:
        for i, row in enumerate(p["rows"]):
            first = f'<th rowspan="{len(p["rows"])}">{_e(p["label"])}</th>' if i == 0 else ""
            body.append(f"<tr>{first}{_td(row['value'])}{''.join(_matrix_cell(c) for c in row['cells'])}</tr>")
    gaps = cov["gaps"]
    note = (f'<p><b>{len(gaps)} gap(s)</b> (applicable values never exercised): {_e("; ".join(gaps))}</p>' if gaps
            else "<p>Every applicable value listed was exercised for every operator and target (the values "
                 "listed are the suite's own choice).</p>")
    from .markdown import three_way_lines
    tw = s.get("three_way") or {}
    if tw.get("targets"):
        note += (f"<p>3-way combinations of {len(tw['features'])} discrete features ({_e(', '.join(tw['features']))}; "
                 f"a covering array of {tw['rows']} rows runs every time):</p><ul>"
                 + "".join(f"<li>{_e(line)}</li>" for line in three_way_lines(s)) + "</ul>")
    return ('<h2 id="coverage">Coverage of the configuration space</h2>'
            f'<p class="muted">Examples with a valid configuration ({cov["examples"]}), by regime, operator and '
            'target. '
            'Amber: applicable but never exercised; red: some failed; grey: not applicable.</p>'
            f"{note}<table><thead>{head1}{head2}</thead><tbody>{''.join(body)}</tbody></table>")


def _distinct(s: dict) -> str:
    rows = []
    for r in s["distinct"]:
        cells = [_td(r["parameter"])]
        for op in OPS:
            vals = r["values"].get(op, [])
            inner = "".join(f"<code>{_e(v)}</code>" for v in vals) or '<span class="muted">none</span>'
            cells.append(f'<td class="values">{inner}</td>')
        rows.append(cells)
    return ('<h2 id="distinct">Distinct values seen per parameter</h2><p class="muted">Per-dimension arguments '
            "are listed element by element.</p>" + _table(["parameter", *OPS], rows))


def _bar(share: float) -> str:
    return f'<span class="bar" style="width:{max(1, round(60 * share))}px"></span>'


def _skips(s: dict) -> str:
    out = ['<h2 id="skips">Skip statistics</h2><p class="muted">Predicted by the geometry for every valid example: '
           "how often some input pixel is never read (conv) or some output cell stays at the bias (transposed "
           "conv), and what fraction of cells that is.</p>"]
    for op, st in s["skips"].items():
        a, obs = st["all"], st["observed"]
        out.append(f"<h3>{_e(op)}: {_e(st['what'])}</h3><p>{a['with_untouched']} of {a['examples']} examples "
                   f"({_pct(a['share'])}) have {_e(st['what'])}; mean fraction {_pct(a['mean_fraction'])}, max "
                   f"{_pct(a['max_fraction'])}. Observed by the target in {obs['checks']} checks: "
                   f"{obs['agree']} matched the prediction, {obs['disagree']} did not.</p>")
        rows = []
        for g in st["groups"]:
            for i, r in enumerate(g["rows"]):
                first = f'<th rowspan="{len(g["rows"])}">{_e(g["label"])}</th>' if i == 0 else ""
                rows.append([first, _td(r["value"]), _td(r["examples"], "n"),
                             f'<td>{_bar(r["share"])}{r["with_untouched"]} ({_pct(r["share"])})</td>',
                             _td(_pct(r["mean_fraction"]), "n"), _td(_pct(r["max_fraction"]), "n")])
        out.append(_table(["regime", "value", "examples", f"with {st['what']}", "mean fraction", "max fraction"], rows))
    return "".join(out)


def _bounds(s: dict) -> str:
    rows = [[_td(r["target"]), _td(r["dtype"]), _td(r["examples"], "n"), _td(f"{r['median']:.3g}", "n"),
             _td(f"{r['p95']:.3g}", "n"), _td(f"{r['max']:.3g}", "n", "1.0 would be the whole bound")]
            for r in s["bounds"]]
    body = _table(["target", "dtype", "float examples", "median", "95th percentile", "max"], rows) if rows else \
        '<p class="muted">No float-mode examples.</p>'
    return ('<h2 id="bounds">Share of the rounding bound used</h2><p class="muted">|target - oracle| / bound per '
            "example, worst cell (float-mode operands); exact-mode examples must match bit for bit.</p>" + body)


def _errors(s: dict) -> str:
    targets = s["meta"]["targets"]
    rows = []
    for r in s["errors"]:
        cells = [_td(r["rule"]), _td(r["op"])]
        for t in targets:
            tl = r["targets"][t]
            cells += [_td(tl["examples"], "n"), _td(tl["failed"], "n fail" if tl["failed"] else "n")]
        rows.append(cells)
    header = ["rule", "op"] + [f"{t}: {k}" for t in targets for k in ("examples", "accepted (failed)")]
    skipped = s.get("skipped_tests") or []
    skip_html = ""
    if skipped:
        skip_html = "<h3>Skipped tests</h3>" + _table(["test", "reason"], [[_td(c["test"]), _td(c["message"])]
                                                                         for c in skipped])
    return ('<h2 id="errors">Invalid configurations</h2><p class="muted">Each must be rejected by the target and by '
            "the oracle.</p>" + (_table(header, rows) if rows else '<p class="muted">None checked.</p>') + skip_html)


def _maps(s: dict) -> str:
    figs = []
    for i, m in enumerate(s["maps"]):
        zero = "bias-only cell" if m["grid"] == "output cells" else "skipped pixel"
        picture = svg.heatmap(m["counts"], f"m{i}", zero)
        figs.append(f"<figure>{picture}<figcaption><b>{_e(m['title'])}</b><br>{_e(m['why'])}<br>"
                    f"<code>{_e(m['describe'])}</code><br>{_e(m['grid'])}: {m['untouched']} of {m['cells']} "
                    f"{_e(zero)}s ({_pct(m['fraction'])})</figcaption></figure>")
    return ('<h2 id="maps">Coverage maps</h2><p class="muted">Number of (cell, tap) pairs reaching each input pixel '
            "(conv) or output cell (transposed conv), from the geometry. Hatched amber: never read / bias only.</p>"
            f'<div class="maps">{"".join(figs)}</div>')


def _failure(f: dict) -> str:
    cells = f.get("cells") or []
    cell_rows = [[_td(", ".join(map(str, c["index"]))), _td(c["expected"], "n"), _td(c["got"], "n fail")]
                 for c in cells]
    regimes = ", ".join(f"{k}={v}" for k, v in (f.get("regimes") or {}).items())
    facts = [("target", f.get("target")), ("property", f.get("property")), ("dtype", f.get("dtype")),
             ("operands", f.get("mode")), ("layouts (input, weight)", ", ".join(f.get("layouts") or [])),
             ("regimes", regimes), ("failing examples in this test", f.get("failing_examples"))]
    facts_html = _table(["", ""], [[_td(k), _td(v)] for k, v in facts if v not in (None, "")], "meta")
    return (f'<div class="fail-card"><h3>{_e(f["test"])}</h3>'
            + (f"<p><code>{_e(f['describe'])}</code></p>" if f.get("describe") else "") + facts_html
            + f"<pre>{_e(f.get('message'))}</pre>"
            + (_table(["differing cell", "expected (oracle)", "got (target)"], cell_rows) if cell_rows else "")
            + (f"<p><b>Reproduce with target {_e(f.get('target_name') or f.get('target') or '(see the snippet)')}:</b></p><pre>{_e(f['snippet'])}</pre>" if f.get("snippet") else "")
            + "</div>")


def _failures(s: dict) -> str:
    body = "".join(_failure(f) for f in s["failures"]) or "<p>No failures.</p>"
    return f'<h2 id="failures">Failures ({len(s["failures"])})</h2>{body}'


def render(summary: dict) -> str:
    """The whole page."""
    parts = [_header(summary), _totals(summary), _failures(summary), where.html(summary, _td, _table, _e),
             paths.html(summary, _td, _table, _e),
             _coverage(summary), _distinct(summary),
             _skips(summary), _bounds(summary), _errors(summary), _maps(summary)]
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>conv_oracle report</title><style>{CSS}</style></head><body><main>"
            + "\n".join(parts) + "</main></body></html>\n")
