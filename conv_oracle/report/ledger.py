"""The findings ledger: one entry per distinct defect, kept across runs, machines and torch versions in
one JSON file (by default ``findings.json`` next to the run folders: ``reports/findings.json``).
``conv-oracle run`` (complete runs) and ``conv-oracle merge`` update it; ``conv-oracle findings``
prints it.

A distinct defect is keyed by property, operator, dtype, ATen backend, layout class (input / weight:
contiguous, channels_last or a strided view, :data:`LAYOUT_CLASS`), failure kind and configuration: for a failure, its shrunk configuration (the example pytest
reported for its test, else the last failing one); for an expected deviation, the known deviation's
id instead (deviating examples are not shrunk, so their configurations change with every draw). The
entry's ``id`` is the first 12 hex digits of the key's SHA-256, so the same defect keeps its id on
every machine and in every run.

An entry holds ``id``, ``key``, ``state``, ``first_seen`` / ``last_seen`` (the start of the runs
that showed it), ``machines`` (hardware classes), ``torch`` (versions) and ``targets`` it was seen on,
the ``test``, the configuration (``describe``), the first line of its ``message``, its ``snippet``
(plain torch for torch's targets), ``deviation`` (the known deviation covering it, if any) and, once
fixed, ``fixed_in``. States after an update (:func:`update`):

===================  ==================================================================================
``new``              seen for the first time
``still failing``    seen before and again (also after having been gone)
``acknowledged``     every occurrence in this update is an expected deviation (a known deviation covers it)
``gone``             not seen, though its test (same target, property, operator and dtype) ran and was
                     judged on a hardware class and torch version it had failed on
``fixed``            not seen, its test ran on a hardware class it had failed on, but only with torch
                     versions it never failed on: fixed in that torch (``fixed_in``)
===================  ==================================================================================

An entry whose test did not run in an update, or whose last sighting is newer than the update's
runs (a merge of older runs), keeps its state.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections import defaultdict

from ..definition.case import Case
from ..harness.fold import context_of, strip_target
from ..harness.records import JUDGED, Verdict, atomic_write

FORMAT = "conv_oracle findings 1"
FILE = "findings.json"
NEW, STILL, ACK, GONE, FIXED = "new", "still failing", "acknowledged", "gone", "fixed"
STATES = (NEW, STILL, ACK, GONE, FIXED)
#: states that mean a defect is present and not excused
OPEN = (NEW, STILL)


class LedgerError(ValueError):
    """The ledger file cannot be read (its path and why, in one line)."""


def default_path(report_folder: str) -> str:
    """The ledger next to the run folders: ``REPORT_FOLDER/findings.json``."""
    return os.path.join(report_folder, FILE)


def load(path: str) -> dict:
    """The ledger at ``path``; an empty one where no file exists yet."""
    if not os.path.exists(path):
        return {"format": FORMAT, "updated": None, "findings": []}
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, json.JSONDecodeError) as exc:
        raise LedgerError(f"{path}: cannot read the findings ledger ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("findings"), list):
        raise LedgerError(f"{path}: not a findings ledger (expected a JSON object with format {FORMAT!r})")
    return data


def save(path: str, ledger: dict) -> None:
    """Write the ledger atomically (the previous file stays whole until the new one replaces it)."""
    atomic_write(path, json.dumps(ledger, indent=1, sort_keys=True, allow_nan=False) + "\n")


def utc(iso: str | None) -> str | None:
    """An ISO time in UTC (``2026-12-04T22:08:51+00:00``), so that times from machines in other zones
    compare as strings; None stays None, and a time without a zone is taken as UTC."""
    if not iso:
        return None
    t = dt.datetime.fromisoformat(iso)
    t = t.replace(tzinfo=dt.timezone.utc) if t.tzinfo is None else t.astimezone(dt.timezone.utc)
    return t.isoformat(timespec="seconds")


#: a layout's class in a defect's key: the strided views (every other element, a transposed copy, a
#: stride-0 broadcast) are one class, so one defect reached through several views is one entry
LAYOUT_CLASS = {"contiguous": "contiguous", "channels_last": "channels_last", "sliced": "view",
                "transposed": "view", "expanded": "view"}


def layout_class(rec: dict) -> str:
    """``input/weight`` layout classes (``contiguous/view``); ``-`` where the record has no layout."""
    return "/".join(LAYOUT_CLASS.get(rec.get(k), rec.get(k) or "-") for k in ("x_layout", "w_layout"))


def _backend(rec: dict) -> str | None:
    return (rec.get("path") or (rec.get("failure") or {}).get("path") or {}).get("backend")


def defect_key(rec: dict) -> dict:
    """The distinct-defect key of one failing or deviating record."""
    config = {"deviation": rec.get("deviation")} if rec.get("verdict") == Verdict.DEVIATION else rec.get("case")
    return {"property": rec.get("property"), "op": rec.get("op"), "dtype": rec.get("dtype"),
            "backend": _backend(rec), "layouts": layout_class(rec), "kind": (rec.get("failure") or {}).get("kind"),
            "configuration": config}


def defect_id(key: dict) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]


def _size(rec: dict) -> tuple:
    case = rec.get("case") or {}
    n = 1
    for v in case.get("input_size") or ():
        n *= v
    return n, json.dumps(case, sort_keys=True)


def _describe(rec: dict) -> str:
    try:
        return Case.from_dict(rec["case"]).describe()
    except (KeyError, TypeError, ValueError):
        return json.dumps(rec.get("case"))


def observe(records: list[dict]) -> dict:
    """The distinct defects the records show: id -> ``{'key', 'record', 'occurrences'}``, where an
    occurrence is ``(target, hardware class, torch version, verdict, started)``. One failing record
    per (test, context): the reported one, else the last; every deviating record."""
    failing = defaultdict(list)
    found = {}
    for r in records:
        if r.get("verdict") == Verdict.FAIL:
            failing[(strip_target(r), context_of(r))].append(r)
        elif r.get("verdict") == Verdict.DEVIATION:
            _add(found, r)
    for recs in failing.values():
        _add(found, next((r for r in reversed(recs) if r.get("reported")), recs[-1]))
    return found


def _add(found: dict, rec: dict) -> None:
    key = defect_key(rec)
    ident = defect_id(key)
    entry = found.setdefault(ident, {"key": key, "record": rec, "occurrences": set()})
    if _size(rec) < _size(entry["record"]):
        entry["record"] = rec  # a deviation's smallest configuration stands for it
    entry["occurrences"].add((*context_of(rec), str(rec.get("verdict")), utc((rec.get("run") or {}).get("started"))))


def _reached(records: list[dict]) -> set:
    """(target, property, op, dtype, hardware class, torch version) of every judged or deviating example."""
    return {(r.get("target"), r.get("property"), r.get("op"), r.get("dtype"), *context_of(r)[1:])
            for r in records if r.get("verdict") in JUDGED or r.get("verdict") == Verdict.DEVIATION}


def _union(old: list, new) -> list:
    return sorted(set(old) | {v for v in new if v is not None}, key=str)


def update(ledger: dict, records: list[dict], when: str, complete: list[dict] | None = None) -> list[dict]:
    """Update ``ledger`` (in place) with what ``records`` show, as of ``when`` (an ISO time: the start of
    the latest run the records come from; a record's own ``run.started`` dates its sightings where
    present). Only ``complete`` (default: all the records; a merge leaves out incomplete runs' records)
    can make an entry gone or fixed. Returns the entries this update touched (seen, gone or fixed), in
    ledger order."""
    when = utc(when)
    found = observe(records)
    reached = _reached(records if complete is None else complete)
    by_id = {f["id"]: f for f in ledger["findings"]}
    touched = []
    for ident, obs in found.items():
        rec, occ = obs["record"], obs["occurrences"]
        seen = sorted({o[4] or when for o in occ})
        f = by_id.get(ident)
        if f is None:
            f = {"id": ident, "key": obs["key"], "first_seen": seen[0], "last_seen": seen[-1],
                 "machines": [], "torch": [], "targets": []}
            ledger["findings"].append(f)
            by_id[ident] = f
            state = NEW
        else:
            state = STILL
            f["first_seen"] = min(f["first_seen"], seen[0])
            f["last_seen"] = max(f["last_seen"], seen[-1])
            f.pop("fixed_in", None)
        if all(o[3] == Verdict.DEVIATION for o in occ):
            state = ACK
        f["machines"] = _union(f["machines"], (o[1] for o in occ))
        f["torch"] = _union(f["torch"], (o[2] for o in occ))
        f["targets"] = _union(f["targets"], (o[0] for o in occ))
        f.update(state=state, test=strip_target(rec), describe=_describe(rec), deviation=rec.get("deviation"),
                 message=((rec.get("failure") or {}).get("message") or rec.get("error") or "").split("\n")[0][:300],
                 snippet=(rec.get("failure") or {}).get("snippet") or "", updated=when)
        touched.append(f)
    for f in ledger["findings"]:
        if f["id"] in found or f["state"] in (GONE, FIXED) or when < f["last_seen"]:
            continue
        k = f["key"]
        ran = {(cls, ver) for (t, p, op, dt, cls, ver) in reached
               if t in f["targets"] and (p, op, dt) == (k["property"], k["op"], k["dtype"])
               and (cls in f["machines"] or (cls is None and not f["machines"]))}
        if not ran:
            continue
        versions = sorted({ver for _, ver in ran if ver is not None}, key=str)
        if versions and not set(versions) & set(f["torch"]):
            f.update(state=FIXED, fixed_in=f"torch {', '.join(versions)}", updated=when)
        else:
            f.update(state=GONE, updated=when)
        touched.append(f)
    ledger["updated"] = max(filter(None, (ledger.get("updated"), when)))
    order = {id(f): i for i, f in enumerate(ledger["findings"])}
    return sorted(touched, key=lambda f: order[id(f)])


def line(f: dict) -> str:
    """One line per entry: id, state, what, where."""
    k = f["key"]
    state = f["state"] + (f" in {f['fixed_in']}" if f.get("fixed_in") else "")
    state += f" ({f['deviation']})" if f.get("deviation") else ""
    return (f"{f['id']}  {state}: {k['property']} {k['op']} {k['dtype']} on {k['backend']} {k['layouts']}, "
            f"{k['kind']}; {f.get('describe', '')}")


def render(ledger: dict, snippets: bool = True) -> str:
    """The ledger as text: per entry its line, when and where it was seen, its repro."""
    if not ledger["findings"]:
        return "no findings recorded\n"
    out = []
    counts = defaultdict(int)
    for f in ledger["findings"]:
        counts[f["state"]] += 1
        out += [line(f), f"    first seen {f['first_seen']}, last seen {f['last_seen']}; torch "
                         f"{', '.join(f['torch']) or '?'}; targets {', '.join(f['targets'])}",
                *(f"    machine: {m}" for m in f["machines"])]
        if f.get("message"):
            out.append(f"    {f['message']}")
        if snippets and f.get("snippet"):
            out += ["    repro:", *(f"      {s}" for s in f["snippet"].splitlines())]
    head = ", ".join(f"{counts[s]} {s}" for s in STATES if counts[s])
    return f"{len(ledger['findings'])} finding(s): {head}\n" + "\n".join(out) + "\n"
