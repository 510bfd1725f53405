"""`conv-oracle merge RUN_DIR... [--out DIR] [--ledger PATH]`: one report across machines and time.

Joins run folders written by ``conv-oracle run`` (on this machine or copied from others; their records
carry each process's fingerprint, hence its hardware class and torch version) into one report with
the same files as a run: ``records.jsonl`` (every input's records, each with ``run``: the folder and
start of the run it came from), ``summary.json``, ``summary.md`` and ``index.html``. Every per-target
table of the report is per context (target, hardware class, torch version; :mod:`conv_oracle.harness.fold`),
and "Where each failure occurs" says for each wrong example where it was wrong, where the same example
was right and where it was never reached. The findings ledger (default: ``findings.json`` next to
``--out``) is updated with what the merged runs show (an incomplete run's failures count as sightings,
its absences make no entry gone).

Every input is read and checked before anything is written; each file is written atomically.
Exit status: 0 no example failed in any input, 1 some did, 2 usage error (one line).
"""

from __future__ import annotations

import datetime as dt
import json
import os

from ..harness import records as records_mod
from ..harness.fold import fold_phrase
from ..report import FILES, ledger as findings_ledger, write_reports
from ..report.markdown import headline
from . import EXIT_CHECK_FAILED, EXIT_OK, UsageError
from .run import ledger_phrase, read_ledger, versions

DEFAULT_OUT = os.path.join("reports", "merged")
SHOWN = 20


def add_arguments(parser):
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR",
                        help="run folders written by conv-oracle run (reports/runs/<time>-<pid>, reports/latest, "
                             "or copies from other machines); also earlier merges")
    parser.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                        help=f"folder of the merged report (default: {DEFAULT_OUT}); its files are replaced")
    parser.add_argument("--ledger", metavar="PATH",
                        help="the findings ledger to update (default: findings.json next to DIR)")


def _started(folder: str) -> tuple[str, dict]:
    """The run's start (UTC ISO time) and its summary's meta (empty without summary.json)."""
    try:
        with open(os.path.join(folder, FILES["summary"]), encoding="utf-8") as fh:
            meta = json.load(fh).get("meta") or {}
    except (OSError, json.JSONDecodeError, AttributeError):
        meta = {}
    started = meta.get("started")
    if not started:
        mtime = os.path.getmtime(os.path.join(folder, records_mod.RECORDS_FILE))
        started = dt.datetime.fromtimestamp(mtime, dt.timezone.utc).isoformat(timespec="seconds")
    return findings_ledger.utc(started), meta


def read_runs(folders: list[str]) -> tuple[str, list[dict], list[dict]]:
    """The merged records file's text (environment lines kept before their records, each record given
    ``run``), per input ``{'folder', 'started', 'meta'}``, and the distinct environments (fingerprints).
    Raises UsageError on a bad input."""
    seen, text, runs, envs = {}, [], [], []
    for given in folders:
        real = os.path.realpath(given)
        path = os.path.join(real, records_mod.RECORDS_FILE)
        if not os.path.isdir(real):
            raise UsageError(f"RUN_DIR {given!r}: not a folder (give run folders written by conv-oracle run)")
        if not os.path.isfile(path):
            raise UsageError(f"RUN_DIR {given!r}: no {records_mod.RECORDS_FILE} in it (give run folders written "
                             "by conv-oracle run, e.g. reports/latest)")
        if real in seen:
            raise UsageError(f"RUN_DIR {given!r}: given twice (also as {seen[real]!r})")
        seen[real] = given
        started, meta = _started(real)
        run = {"folder": given, "started": started}
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError:
                    raise UsageError(f"RUN_DIR {given!r}: line {n} of {records_mod.RECORDS_FILE} is not JSON") from None
                if not isinstance(obj, dict):
                    raise UsageError(f"RUN_DIR {given!r}: line {n} of {records_mod.RECORDS_FILE} is not a record")
                if "environment" in obj:
                    envs += [] if obj["environment"] in envs else [obj["environment"]]
                else:
                    obj.setdefault("run", run)  # a record from an earlier merge keeps its own run
                text.append(json.dumps(obj, sort_keys=True) + "\n")
        runs.append({"folder": given, "started": started, "meta": meta})
    return "".join(text), runs, envs


def _meta(runs: list[dict], environments: list[dict]) -> dict:
    from ..machine.fingerprint import summary_line

    def distinct(key):
        return ", ".join(dict.fromkeys(str(r["meta"][key]) for r in runs if r["meta"].get(key) is not None))
    codes = [r["meta"].get("exit_code") for r in runs if isinstance(r["meta"].get("exit_code"), int)]
    return {"environment": [summary_line(e) for e in environments], "profile": distinct("profile") or None,
            "seed": distinct("seed") or None, "exit_code": max(codes, default=0), "run_status": "complete",
            "started": max(r["started"] for r in runs), "versions": versions(),
            "runs": [{"folder": r["folder"], "started": r["started"],
                      "run_status": r["meta"].get("run_status", "unknown"),
                      "targets": r["meta"].get("targets"), "command": r["meta"].get("command")} for r in runs]}


def main(args) -> int:
    out = os.path.abspath(args.out)
    text, runs, envs = read_runs(args.runs)
    inputs = {os.path.realpath(r["folder"]) for r in runs}
    if os.path.realpath(out) in inputs:
        raise UsageError(f"--out {args.out}: is one of the run folders merged (its records would be replaced)")
    ledger_path = os.path.abspath(args.ledger) if args.ledger else findings_ledger.default_path(os.path.dirname(out))
    ledger = read_ledger(ledger_path)
    recs = records_mod.in_context(text.splitlines())
    meta = _meta(runs, envs)
    partial = {r["folder"] for r in meta["runs"] if r["run_status"] not in ("complete", "unknown")}
    complete = [r for r in recs if (r.get("run") or {}).get("folder") not in partial]  # absences prove something
    found = findings_ledger.update(ledger, recs, meta["started"], complete)
    try:
        os.makedirs(out, exist_ok=True)
        summary = write_reports(out, recs, None, meta, found)
        records_mod.atomic_write(os.path.join(out, records_mod.RECORDS_FILE), text)
    except OSError as exc:
        raise UsageError(f"--out {args.out}: {exc.strerror} (the report folder must be writable)") from None
    findings_ledger.save(ledger_path, ledger)
    where = summary["where"]
    print(f"conv-oracle merge: {len(runs)} run(s), {len(where['contexts'])} context(s); "
          f"{headline(summary['totals']['all'])}")
    for c in where["contexts"]:
        print(f"  {c['label']}: {c['examples']} examples; torch {c['torch']}; {c['hardware_class']}")
    for f in where["examples"][:SHOWN]:
        print(f"- {f['test']} {f['dtype']}: {f['describe']}\n    {fold_phrase(f)}")
    if len(where["examples"]) > SHOWN:
        print(f"  ... {len(where['examples']) - SHOWN} more in the report")
    print(f"report:  {summary['files']['html']}\nsummary: {summary['files']['markdown']}\n"
          f"ledger:  {ledger_path} ({ledger_phrase(found)})")
    return EXIT_CHECK_FAILED if summary["totals"]["all"]["failed"] else EXIT_OK

