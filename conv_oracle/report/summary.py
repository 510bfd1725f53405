"""Aggregating records into the report's summary: pure functions, a list of record dicts in, plain
JSON-ready dicts out. Markdown and HTML render this summary and nothing else.

Counts are over examples (records): every checked example of every test, including the examples
Hypothesis ran while shrinking a failure. A configuration is *valid* when the oracle accepts it;
invalid ones (error parity) get their own table, by rule, and stay out of the coverage matrix.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass

from ..definition import features
from ..definition.case import OPS, Case
from ..definition.errors import ConvConfigError
from ..definition.historical import SEED_6X6
from ..harness.fold import relabel
from ..harness.records import Verdict
from ..targets.execution import LAYOUTS

MAX_MAPS = 10
MAX_FAILING_MAPS = 3


@dataclass(frozen=True)
class Parameter:
    """One row group of the coverage matrix: ``field`` is read from the record's regimes (or the
    record itself when ``on_record``); ``values`` are the ones a complete run should exercise."""

    key: str
    label: str
    values: tuple[str, ...]
    on_record: bool = False
    only: str | None = None  # the one op it applies to, if not both
    per_dim: bool = False  # the regime tag holds one character per dimension


PARAMETERS = (
    Parameter("stride_vs_kernel", "stride vs effective kernel (some dim)", ("<", "=", ">"), per_dim=True),
    Parameter("dilation", "dilation > 1", ("no", "yes")),
    Parameter("groups", "groups", ("no", "yes", "depthwise")),
    Parameter("output_padding", "output_padding", ("none", "<stride", ">=stride(<dilation)", "output_size"),
              only="conv_transpose"),
    Parameter("padding", "padding kind", ("zero", "int", "valid", "same")),
    Parameter("padding_mode", "padding_mode", ("zeros", "reflect", "replicate", "circular")),
    Parameter("dtype", "dtype", ("float32", "float64", "float16", "bfloat16"), on_record=True),
    Parameter("mode", "operands", ("exact", "float"), on_record=True),
    Parameter("x_layout", "input layout", LAYOUTS, on_record=True),
    Parameter("w_layout", "weight layout", LAYOUTS, on_record=True),
    Parameter("dims", "dims", ("1d", "2d", "3d")),
    Parameter("batch", "batch", ("unbatched", "batch1", "batchN")),
    Parameter("bias", "bias", ("no", "yes")),
)

#: regimes the skip statistics are grouped by
SKIP_GROUPS = ("stride_vs_kernel", "dilation", "padding", "padding_mode", "output_padding", "groups", "dims")

#: case fields listed under "distinct values"
DISTINCT_FIELDS = ("input_size", "kernel_size", "stride", "padding", "dilation", "output_padding", "output_size",
                   "groups", "in_channels", "out_channels", "batch", "padding_mode", "bias")


def applicable(param: Parameter, value: str, op: str) -> bool:
    """Whether ``op`` can take ``value`` at all (transposed convs have no padding strings or modes)."""
    if param.only and param.only != op:
        return False
    if op == "conv_transpose" and param.key == "padding" and value in ("valid", "same"):
        return False
    if op == "conv_transpose" and param.key == "padding_mode" and value != "zeros":
        return False
    return True


def values_of(param: Parameter, rec: dict) -> list[str]:
    """The values of ``param`` in one record (several for per-dimension tags, none when absent)."""
    raw = rec.get(param.key) if param.on_record else rec.get("regimes", {}).get(param.key)
    if raw is None:
        return []
    if param.per_dim:
        return _order(set(str(raw)), param.values)
    return [str(raw)]


def is_valid(rec: dict) -> bool:
    """The record's ``valid`` flag; for records without it, whether the oracle accepts the case.
    Error-parity examples (``rule`` set) are invalid calls even when their case is not."""
    if "rule" in rec or rec.get("property") == "error_parity":
        return False
    if "valid" in rec:
        return bool(rec["valid"])
    try:
        Case.from_dict(rec["case"]).config()
    except (ConvConfigError, KeyError, TypeError):
        return False
    return True


def _order(seen, preferred=()) -> list:
    return [v for v in preferred if v in seen] + sorted(v for v in seen if v not in preferred)


def _tally(records) -> dict:
    """Examples, passed, failed; ``deviations``: failing examples a known-deviation entry covers
    (expected, not failures); ``not_checkable``: examples refused because no meaningful bound or
    exact value exists (never counted as passes)."""
    failed = sum(r.get("verdict") == Verdict.FAIL for r in records)
    expected = sum(r.get("verdict") == Verdict.DEVIATION for r in records)
    refused = sum(r.get("verdict") == Verdict.NOT_CHECKABLE for r in records)
    return {"examples": len(records), "passed": len(records) - failed - expected - refused, "failed": failed,
            "deviations": expected, "not_checkable": refused}


def totals(records: list[dict], targets: list[str]) -> dict:
    """Examples, passed and failed: overall and per target; ``shrinking`` / ``shrinking_failed``
    count the records made after a test's first failure (Hypothesis shrinking it), which the
    headline keeps apart from the examples drawn."""
    by_target = defaultdict(list)
    for r in records:
        by_target[r.get("target", "?")].append(r)
    return {"all": _with_shrinking(records), "targets": {t: _with_shrinking(by_target[t]) for t in targets}}


def _with_shrinking(records: list[dict]) -> dict:
    """The tally of every record, the counts made while shrinking, and ``drawn``: the tally of the
    records made before each test's first failure (its parts add up to its examples)."""
    tally = _tally(records)
    failed_tests, drawn, shrink, shrink_failed = set(), [], 0, 0
    for r in records:
        key = (r.get("test"), r.get("target"))
        if key in failed_tests:
            shrink += 1
            shrink_failed += r.get("verdict") == Verdict.FAIL
        else:
            drawn.append(r)
            if r.get("verdict") == Verdict.FAIL:
                failed_tests.add(key)
    return {**tally, "shrinking": shrink, "shrinking_failed": shrink_failed, "drawn": _tally(drawn)}


def by_property(records: list[dict], targets: list[str]) -> list[dict]:
    """One row per property: tallies per target."""
    groups = defaultdict(lambda: defaultdict(list))
    for r in records:
        groups[r.get("property", "?")][r.get("target", "?")].append(r)
    return [{"property": p, "targets": {t: _tally(groups[p][t]) for t in targets}} for p in sorted(groups)]


def coverage_matrix(records: list[dict], targets: list[str]) -> dict:
    """Regimes x (op, target): example and failure counts for every expected value of every
    parameter (zero counts included, so gaps show), plus any unexpected value that occurred."""
    valid = [r for r in records if is_valid(r)]
    columns = [{"op": op, "target": t} for op in OPS for t in targets]
    counts = defaultdict(Counter)
    fails = defaultdict(Counter)
    for r in valid:
        col = (r.get("op"), r.get("target"))
        for param in PARAMETERS:
            for value in values_of(param, r):
                counts[(param.key, value)][col] += 1
                fails[(param.key, value)][col] += r.get("verdict") == Verdict.FAIL
    params = []
    for param in PARAMETERS:
        seen = {v for (k, v) in counts if k == param.key}
        rows = []
        for value in _order(seen | set(param.values), param.values):
            cells = [{"examples": counts[(param.key, value)][(c["op"], c["target"])],
                      "failed": fails[(param.key, value)][(c["op"], c["target"])],
                      "applicable": applicable(param, value, c["op"])} for c in columns]
            rows.append({"value": value, "cells": cells,
                         "gap": any(c["applicable"] and c["examples"] == 0 for c in cells)})
        params.append({"key": param.key, "label": param.label, "rows": rows})
    gaps = [f"{p['label']} = {row['value']} ("
            + ", ".join(f"{col['op']}/{col['target']}" for col, cell in zip(columns, row["cells"])
                        if cell["applicable"] and not cell["examples"]) + ")"
            for p in params for row in p["rows"] if row["gap"]]
    return {"columns": columns, "parameters": params, "gaps": gaps, "examples": len(valid)}


def three_way(records: list[dict], targets: list[str]) -> dict:
    """Per target: the share of the required 3-way combinations of the discrete features
    (:mod:`conv_oracle.definition.features`) that its valid examples showed (layouts as applied), and
    a few it did not."""
    required = features.required()
    rows = defaultdict(list)
    for r in records:
        if is_valid(r) and r.get("case") and r.get("dtype") and r.get("x_layout") and r.get("w_layout"):
            prop = str(r.get("property", ""))
            wrt = prop.split("_", 1)[1] if prop.startswith("gradient_") else "none"
            try:
                rows[r.get("target")].append(features.features_of(Case.from_dict(r["case"]), r["dtype"],
                                                                   r["x_layout"], r["w_layout"], wrt))
            except (ConvConfigError, KeyError, TypeError, ValueError):
                continue
    out = {}
    for t in targets:
        covered = features.covered(rows.get(t, []))
        missing = sorted(required - covered, key=repr)[:5]
        out[t] = {"covered": len(covered), "required": len(required), "share": len(covered) / len(required),
                  "missing": [", ".join(f"{f}={v}" for f, v in combo) for combo in missing]}
    return {"features": list(features.FEATURES), "rows": len(features.covering_rows()), "targets": out}


def _flat(value) -> list:
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _flat(v)]
    return [value]


def distinct_values(records: list[dict]) -> list[dict]:
    """Per case field (and dtype / layouts): the distinct values seen, per op; per-dimension
    arguments are listed element by element."""
    seen = defaultdict(lambda: defaultdict(set))
    for r in records:
        if not is_valid(r):
            continue
        op, case = r.get("op"), r.get("case", {})
        for f in DISTINCT_FIELDS:
            for v in _flat(case.get(f)):
                seen[f][op].add(json.dumps(v))
        for f in ("dtype", "x_layout", "w_layout"):
            if r.get(f) is not None:
                seen[f][op].add(json.dumps(r[f]))
    rows = []
    for f in DISTINCT_FIELDS + ("dtype", "x_layout", "w_layout"):
        row = {"parameter": f, "values": {}}
        for op in OPS:
            vals = sorted((json.loads(v) for v in seen[f][op]), key=_value_order)
            row["values"][op] = [_show(v) for v in vals]
        rows.append(row)
    return rows


def _value_order(v) -> tuple:
    """Numbers first (ascending), then strings, booleans and None."""
    numeric = isinstance(v, (int, float)) and not isinstance(v, bool)
    return (0, "", v) if numeric else (1, type(v).__name__, str(v))


def _show(v) -> str:
    return "none" if v is None else str(v).lower() if isinstance(v, bool) else str(v)


def _fraction_stats(fractions: list[float]) -> dict:
    touched = [f for f in fractions if f > 0]
    return {"examples": len(fractions), "with_untouched": len(touched),
            "share": round(len(touched) / len(fractions), 4) if fractions else 0.0,
            "mean_fraction": round(statistics.fmean(fractions), 4) if fractions else 0.0,
            "max_fraction": round(max(fractions), 4) if fractions else 0.0}


def skip_statistics(records: list[dict]) -> dict:
    """Per op: how often (share of examples) and how much (fraction of cells) input is skipped (conv)
    or output stays at the bias (transposed), overall and per regime; plus, for the properties that
    observe it, how often the observation matched the prediction."""
    out = {}
    for op in OPS:
        recs = [r for r in records if r.get("op") == op and isinstance(r.get("predicted"), dict)]
        groups = []
        for key in SKIP_GROUPS:
            param = next(p for p in PARAMETERS if p.key == key)
            by_value = defaultdict(list)
            for r in recs:
                for v in values_of(param, r):
                    by_value[v].append(r["predicted"]["fraction"])
            rows = [{"value": v, **_fraction_stats(by_value[v])} for v in _order(set(by_value), param.values)]
            if rows:
                groups.append({"key": key, "label": param.label, "rows": rows})
        observed = [r for r in recs if isinstance(r.get("observed"), dict)]
        agree = sum(_same_mask(r["predicted"], r["observed"]) for r in observed)
        out[op] = {"what": "skipped input pixels" if op == "conv" else "bias-only output cells",
                   "all": _fraction_stats([r["predicted"]["fraction"] for r in recs]), "groups": groups,
                   "observed": {"checks": len(observed), "agree": agree, "disagree": len(observed) - agree}}
    return out


def _same_mask(a: dict, b: dict) -> bool:
    keys = ("shape", "count", "per_dim", "separable", "cells")
    return all(a.get(k) == b.get(k) for k in keys)


def bound_usage(records: list[dict]) -> list[dict]:
    """Float-mode examples: the share of the derived rounding bound the error used, per target and dtype."""
    groups = defaultdict(list)
    for r in records:
        share = r.get("bound_share")
        if r.get("mode") == "float" and isinstance(share, (int, float)) and math.isfinite(share):
            groups[(r.get("target"), r.get("dtype"))].append(float(r["bound_share"]))
    rows = []
    for (target, dtype), shares in sorted(groups.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))):
        shares.sort()
        rows.append({"target": target, "dtype": dtype, "examples": len(shares),
                     "median": round(statistics.median(shares), 6),
                     "p95": round(shares[min(len(shares) - 1, int(0.95 * len(shares)))], 6),
                     "max": round(shares[-1], 6)})
    return rows


def error_rules(records: list[dict], targets: list[str]) -> list[dict]:
    """Invalid configurations, by rule and op: were they rejected (passed) per target."""
    groups = defaultdict(lambda: defaultdict(list))
    for r in records:
        if not is_valid(r):
            rule = r.get("rule") or ("bad output_size" if r.get("property") == "output_size_range"
                                     else r.get("property", "?"))
            groups[(rule, r.get("op"))][r.get("target")].append(r)
    return [{"rule": rule, "op": op, "targets": {t: _tally(groups[(rule, op)][t]) for t in targets}}
            for rule, op in sorted(groups, key=lambda k: (str(k[0]), str(k[1])))]


def _test_key(test: str) -> str:
    """``module.py::name[params]`` from a node id or from a JUnit ``classname``/``name`` pair."""
    path, _, name = test.partition("::")
    return f"{path.rsplit('/', 1)[-1]}::{name}"


def failures(records: list[dict], junit_cases: list[dict] | None = None) -> list[dict]:
    """One entry per failing (test, target): the example pytest reported (else the last failing one),
    with its configuration, message, differing cells and snippet; then failed or errored tests
    that left no failing record (from JUnit)."""
    groups = defaultdict(list)
    for r in records:
        if r.get("verdict") == Verdict.FAIL:
            groups[(r.get("test", "?"), r.get("target"))].append(r)
    out = []
    for (test, target), recs in groups.items():
        chosen = next((r for r in reversed(recs) if r.get("reported")), recs[-1])
        fail = chosen.get("failure") or {"message": chosen.get("error", ""), "cells": [], "snippet": ""}
        try:
            described = Case.from_dict(chosen["case"]).describe()
        except (KeyError, TypeError, ValueError):
            described = json.dumps(chosen.get("case"))
        out.append({"test": test, "target": target, "target_name": chosen.get("target_name", target),
                    "property": chosen.get("property"), "op": chosen.get("op"),
                    "dtype": chosen.get("dtype"), "mode": chosen.get("mode"),
                    "layouts": [chosen.get("x_layout", "contiguous"), chosen.get("w_layout", "contiguous")],
                    "case": chosen.get("case"), "describe": described, "regimes": chosen.get("regimes", {}),
                    "message": fail.get("message", ""), "header": fail.get("header", ""),
                    "cells": fail.get("cells", []), "snippet": fail.get("snippet", ""),
                    "failing_examples": len(recs), "reported": bool(chosen.get("reported"))})
    recorded = {_test_key(f["test"]) for f in out}
    for case in junit_cases or []:
        if case["outcome"] in ("failed", "error") and _test_key(case["test"]) not in recorded:
            out.append({"test": case["test"], "target": None, "property": None, "op": None, "dtype": None,
                        "mode": None, "layouts": [], "case": None, "describe": "", "regimes": {},
                        "message": f"{case['outcome']} without a failing record: {case['message']}",
                        "header": "", "cells": [], "snippet": _snippet_in(case.get("text", "")),
                        "details": case.get("text", ""), "failing_examples": 0,
                        "reported": True})
    return out


def _snippet_in(text: str) -> str:
    """The runnable snippet in a failure's text (after 'Reproduce with target NAME:'), if any."""
    from ..harness.records import REPRO_MARK
    if REPRO_MARK not in text:
        return ""
    tail = text.split(REPRO_MARK, 1)[1].partition("\n")[2]  # after the line 'Reproduce with target NAME:'
    lines = []
    for line in tail.splitlines():
        line = line[2:] if line.startswith("E ") else line
        if line.strip().startswith(("Failing test case", "Falsifying example")):
            break
        lines.append(line.rstrip())
    return "\n".join(lines).strip("\n")


# ---- coverage maps ----------------------------------------------------------------------------------

def coverage_map(case: Case, title: str, why: str) -> dict | None:
    """Per-cell contribution counts of a 1-D or 2-D case (0 = skipped / bias-only), for a heatmap."""
    if case.nd > 2:
        return None
    counts = case.coverage_counts()
    grid = counts.reshape(1, -1) if case.nd == 1 else counts
    untouched = int((counts == 0).sum())
    return {"title": title, "why": why, "case": case.to_dict(), "describe": case.describe(),
            "grid": "output cells" if case.transposed else "input pixels",
            "counts": grid.tolist(), "untouched": untouched, "cells": int(counts.size),
            "fraction": round(untouched / counts.size, 4) if counts.size else 0.0}


def _mixed(r: dict) -> bool:
    """Some cells untouched and some reached: the maps worth looking at."""
    return 0 < r["predicted"]["count"] < _cells(r)


def _cells(r: dict) -> int:
    n = 1
    for side in r["predicted"]["shape"]:
        n *= side
    return n


def _balance(r: dict) -> tuple:
    """Prefer 2-D, then the most even split of reached and untouched cells."""
    return (r["case"]["nd"] == 2, min(r["predicted"]["count"], _cells(r) - r["predicted"]["count"]))


def _stride_rel(r: dict) -> str:
    return r["regimes"].get("stride_vs_kernel", "")


#: (title, why, predicate on a record, ranking key: larger first)
_PICKS = (
    ("transposed conv, stride > kernel", "gaps between the kernel copies stay at the bias",
     lambda r: r["op"] == "conv_transpose" and ">" in _stride_rel(r) and _mixed(r), _balance),
    ("conv, stride > kernel", "gaps between windows: input pixels no window reads",
     lambda r: r["op"] == "conv" and ">" in _stride_rel(r) and _mixed(r), _balance),
    ("conv with dilation holes", "dilation > 1 leaving pixels no window reads",
     lambda r: r["op"] == "conv" and r["regimes"].get("dilation") == "yes" and _mixed(r), _balance),
    ("transposed conv with output_padding", "output_padding cells: bias-only, or re-exposed by padding",
     lambda r: r["op"] == "conv_transpose" and r["regimes"].get("output_padding") not in (None, "none")
     and _mixed(r), _balance),
    ("conv, stride < kernel", "overlapping windows: pixels read several times",
     lambda r: r["op"] == "conv" and set(_stride_rel(r)) == {"<"},
     lambda r: (r["case"]["nd"] == 2, max(r["case"]["kernel_size"]), _cells(r))),
    ("conv with a padding_mode", "reflect / replicate / circular: padded copies read edge pixels again",
     lambda r: r["op"] == "conv" and r["regimes"].get("padding_mode", "zeros") != "zeros", _balance),
)


def _geometry_key(case: dict) -> str:
    """The fields a coverage map depends on (not channels, batch or bias)."""
    return json.dumps({k: case.get(k) for k in ("op", "nd", "input_size", "kernel_size", "stride", "padding",
                                                 "dilation", "output_padding", "output_size", "padding_mode")},
                      sort_keys=True)


def representative_maps(records: list[dict], limit: int = MAX_MAPS) -> list[dict]:
    """The 6x6 seed case first, then one 1-D/2-D configuration of the run per featured regime (the best
    ranked; ties broken by the case's JSON, so the choice is deterministic), then one failing
    configuration per failing test (the reported example where there is one; at most
    :data:`MAX_FAILING_MAPS`)."""
    maps = [coverage_map(SEED_6X6, "seed case: ConvTranspose2d, kernel 2, stride 4",
                         "four kernel copies 4 apart; rows and columns 2-3 stay at the bias")]
    chosen = {_geometry_key(SEED_6X6.to_dict())}
    pool = [r for r in records if isinstance(r.get("predicted"), dict) and r.get("case", {}).get("nd", 3) <= 2]
    for title, why, pred, key in _PICKS:
        cands = sorted((r for r in pool if pred(r)), key=lambda r: json.dumps(r["case"], sort_keys=True))
        for r in sorted(cands, key=key, reverse=True):
            k = _geometry_key(r["case"])
            if k not in chosen:
                chosen.add(k)
                maps.append(coverage_map(Case.from_dict(r["case"]), title, why))
                break
    failed_tests, failed_shapes = set(), set()
    for r in sorted((r for r in pool if r.get("verdict") == Verdict.FAIL), key=lambda r: not r.get("reported")):
        k = _geometry_key(r["case"])
        if k not in failed_shapes and r.get("test") not in failed_tests and len(failed_tests) < MAX_FAILING_MAPS:
            failed_shapes.add(k)
            failed_tests.add(r.get("test"))
            maps.append(coverage_map(Case.from_dict(r["case"]), f"failing: {r.get('test', '')}",
                                     f"a configuration that failed on target {r.get('target')}"))
    return [m for m in maps if m is not None][:limit]


# ---- everything ---------------------------------------------------------------------------------------

def targets_of(records: list[dict], declared: list[str] | None = None) -> list[str]:
    """Declared targets first (in order), then any other target found in the records."""
    seen = list(dict.fromkeys(r.get("target", "?") for r in records))
    return list(dict.fromkeys(list(declared or []) + seen))


from . import paths as _paths, where as _where  # noqa: E402  (after the helpers they share with html / markdown)


def summarize(records: list[dict], meta: dict | None = None, junit: dict | None = None,
              findings: list[dict] | None = None) -> dict:
    """The whole summary: totals, per property, coverage matrix, distinct values, skip statistics,
    rounding-bound usage, error rules, coverage maps, failures, where each failure occurs and the
    findings-ledger entries given (``None``: no ledger).

    Where the records come from several machines or torch versions for one target (a merge), every
    per-target table is per context instead (:func:`conv_oracle.harness.fold.relabel`: the target,
    ``on`` the varying words of the hardware class, ``with torch VERSION``)."""
    meta = dict(meta or {})
    where = _where.summarize(records)
    relabelled = relabel(records)
    targets = targets_of(relabelled, meta.get("targets") if relabelled is records else None)
    records = relabelled
    meta["targets"] = targets
    fails = failures(records, (junit or {}).get("cases"))
    status = meta.get("run_status", "complete")
    return {"meta": meta, "run_status": status, "totals": totals(records, targets), "properties": by_property(records, targets),
            "coverage": coverage_matrix(records, targets), "three_way": three_way(records, targets),
            "distinct": distinct_values(records),
            "skips": skip_statistics(records), "bounds": bound_usage(records),
            "errors": error_rules(records, targets), "maps": representative_maps(records),
            "failures": fails, "paths": _paths.summarize(records), "where": where, "findings": findings, "junit": {k: v for k, v in (junit or {}).items() if k != "cases"} or None,
            "skipped_tests": [c for c in (junit or {}).get("cases", []) if c["outcome"] == "skipped"],
            "ok": (not fails and not any(t["failed"] for t in totals(records, targets)["targets"].values())
                   and meta.get("exit_code", 0) == 0 and status == "complete")}
