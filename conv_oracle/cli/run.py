"""`conv-oracle run`: the main job. Runs the differential suite through pytest (its progress streams
to the terminal), then writes, under ``--out`` (default ``reports/``): ``records.jsonl``,
``junit.xml``, ``summary.json``, ``summary.md`` and ``index.html``.

pytest writes its records and JUnit XML into a private folder inside ``--out``; they are moved into
place with atomic renames and the folder is removed, so ``--out`` never holds a half-written file or
records of an earlier run. Exit status: pytest's (0 only if every check passed; 5 when no test was
collected), 2 for unusable options.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

from .. import records as records_mod
from . import UsageError

PROFILES = ("ci", "dev", "thorough")
SUITE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "suite")
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
JUNIT_FILE = "junit.xml"


def add_arguments(parser):
    parser.add_argument("--target", action="append", metavar="NAME",
                        help="target to check (repeatable; default torch): torch, torch-no-mkldnn, torch-cuda, "
                             "torch-cuda-no-tf32, torch-compile, onnxruntime, or an importable module path")
    parser.add_argument("--profile", default="ci", choices=PROFILES,
                        help="Hypothesis profile: ci (default, derandomized), dev (fast), thorough (10x ci)")
    parser.add_argument("-n", "--workers", metavar="N", default=None,
                        help="pytest-xdist workers (a number, or 'auto'); default: one process")
    parser.add_argument("--out", default="reports", metavar="DIR", help="report folder (default: ./reports)")
    parser.add_argument("-k", metavar="EXPR", dest="keyword", help="only tests matching EXPR (pytest -k)")
    parser.add_argument("--pytest-args", action="append", default=[], metavar="ARGS",
                        help="more pytest arguments, shell-quoted: --pytest-args='-x --maxfail 2' (repeatable)")


def pytest_command(folder: str, targets: list[str], profile: str, workers: str | None, keyword: str | None,
                   extra: list[str]) -> list[str]:
    """The pytest invocation: the suite's folder of this very copy of conv_oracle, records and JUnit XML
    into ``folder``."""
    cmd = [sys.executable, "-m", "pytest", SUITE_DIR, "-p", "no:cacheprovider", f"--records={folder}",
           f"--junitxml={os.path.join(folder, JUNIT_FILE)}", f"--hypothesis-profile={profile}"]
    cmd += [f"--target={t}" for t in targets]
    if workers is not None:
        cmd += ["-n", str(workers)]
    if keyword:
        cmd += ["-k", keyword]
    return cmd + extra


def _child_env() -> dict:
    """The child imports this very copy of conv_oracle first."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_PARENT, env.get("PYTHONPATH", "")) if p)
    env.pop("CONV_ORACLE_RECORDS", None)
    return env


def versions() -> str:
    parts = [f"python {platform.python_version()}"]
    for dist in ("torch", "numpy", "hypothesis", "pytest"):
        try:
            parts.append(f"{dist} {importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    from .. import __version__
    return ", ".join(parts + [f"conv_oracle {__version__}"])


def _run_pytest(cmd: list[str]) -> int:
    proc = subprocess.Popen(cmd, env=_child_env())
    try:
        return proc.wait()
    except KeyboardInterrupt:  # the child got the same SIGINT: let it finish its session (records)
        return proc.wait()


def collect(folder: str, out: str) -> tuple[list[dict], str | None]:
    """Move pytest's records and JUnit XML from ``folder`` into ``out`` (atomic renames); an empty
    ``records.jsonl`` if pytest wrote none."""
    rec_src = os.path.join(folder, records_mod.RECORDS_FILE)
    rec_dst = os.path.join(out, records_mod.RECORDS_FILE)
    if os.path.exists(rec_src):
        os.replace(rec_src, rec_dst)
    else:
        records_mod.atomic_write(rec_dst, "")
    junit_src, junit_dst = os.path.join(folder, JUNIT_FILE), os.path.join(out, JUNIT_FILE)
    if os.path.exists(junit_src):
        os.replace(junit_src, junit_dst)
    elif os.path.exists(junit_dst):
        os.unlink(junit_dst)
    return records_mod.load(rec_dst), junit_dst if os.path.exists(junit_dst) else None


def summary_lines(summary: dict) -> list[str]:
    """Three lines: examples, passed and failed, per target."""
    per = summary["totals"]["targets"]
    return [f"{label:<9} " + ", ".join(f"{t} {per[t][key]}" for t in per)
            for label, key in (("examples:", "examples"), ("passed:", "passed"), ("failed:", "failed"))]


def main(args) -> int:
    from ..report import write_reports

    targets = list(dict.fromkeys(args.target or ["torch"]))
    try:
        extra = [a for chunk in args.pytest_args for a in shlex.split(chunk)]
    except ValueError as exc:
        raise UsageError(f"--pytest-args: {exc}") from None
    if args.workers is not None and not (str(args.workers).isdigit() or args.workers in ("auto", "logical")):
        raise UsageError(f"-n {args.workers!r}: expected a number of workers, 'auto' or 'logical'")
    out = os.path.abspath(args.out)
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {args.out}: {exc.strerror}") from None
    folder = tempfile.mkdtemp(prefix=".run-", dir=out)
    cmd = pytest_command(folder, targets, args.profile, args.workers, args.keyword, extra)
    print(f"conv-oracle run: targets {', '.join(targets)}; profile {args.profile}; "
          f"workers {args.workers or 1}; report -> {out}", flush=True)
    started, t0 = dt.datetime.now().astimezone(), time.perf_counter()
    try:
        code = _run_pytest(cmd)
        recs, junit = collect(folder, out)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    meta = {"targets": targets, "profile": args.profile, "workers": args.workers or 1, "exit_code": code,
            "started": started.isoformat(timespec="seconds"), "duration_s": round(time.perf_counter() - t0, 2),
            "command": shlex.join(["python", *cmd[1:]]).replace(folder, "<out>"), "versions": versions()}
    summary = write_reports(out, recs, junit, meta)
    print("", *summary_lines(summary), sep="\n")
    print(f"report:  {summary['paths']['html']}\nsummary: {summary['paths']['markdown']}")
    if code == 5:
        print("conv-oracle run: no tests were collected (check -k, --target and --pytest-args)", file=sys.stderr)
    elif code not in (0, 1):
        print(f"conv-oracle run: pytest stopped with exit status {code} (see its output above)", file=sys.stderr)
    elif code == 1:
        print(f"conv-oracle run: {len(summary['failures'])} failing test(s); details in the report", file=sys.stderr)
    return code if code else (1 if summary["totals"]["all"]["failed"] else 0)
