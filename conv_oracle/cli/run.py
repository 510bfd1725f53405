"""`conv-oracle run`: the main job. Runs the differential suite through pytest (its progress streams
to the terminal) and writes the report of this run into its own folder,
``--out/runs/<UTC time>-<pid>/``: ``records.jsonl`` (streamed while the run goes), ``junit.xml``,
``summary.json``, ``summary.md`` and ``index.html``.

``--out/latest`` is a symbolic link to the latest *complete* run, replaced atomically when a run
completes; a complete run also updates the findings ledger, ``--out/findings.json`` or ``--ledger``
(:mod:`conv_oracle.report.ledger`). A run that is interrupted (Ctrl-C, SIGTERM), whose pytest crashes, or in which no
example ran keeps its folder, marked on its page and in ``summary.json`` (``run_status``), and
``latest`` keeps pointing at the previous complete report. Killing conv-oracle ends its pytest; when
pytest has ended, however it ended, whatever it left running (fork servers, workers stuck in a call)
is killed and reaped, so no process of the run outlives conv-oracle.

Exit status: 0 every check passed; 1 a check failed; 2 usage or configuration error (one line);
3 environment problem (e.g. a CUDA target without CUDA); 4 the run is incomplete (interrupted,
crashed, or no example ran).
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import time

from ..harness import matrix, records as records_mod
from ..harness.records import JUDGED
from ..machine import processes
from ..machine.fingerprint import cpu_info, fingerprint, summary_line
from ..machine.settings import NAMES
from ..report import ledger as findings_ledger
from . import EXIT_CHECK_FAILED, EXIT_INCOMPLETE, EXIT_OK, EnvironmentProblem, UsageError

PROFILES = ("ci", "dev", "thorough", "compile", "replay")
EXAMPLES_DIR = "examples"
SUITE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "suite")
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
JUNIT_FILE = "junit.xml"


def add_arguments(parser):
    parser.add_argument("--target", action="append", metavar="NAME",
                        help="target to check (repeatable; default torch): torch, torch-no-mkldnn, torch-cuda, "
                             "torch-cuda-no-tf32, torch-compile[@freezing|max-autotune|dynamic], onnxruntime, jax, or an "
                             "importable module path")
    parser.add_argument("--profile", default="ci", choices=PROFILES,
                        help="Hypothesis profile: ci (default, derandomized), dev (fast), thorough (10x ci), "
                             "compile (3 per test, derandomized: for targets that compile each configuration), "
                             "replay (only the examples the database holds)")
    parser.add_argument("-n", "--workers", metavar="N", default=None,
                        help="pytest-xdist workers (a number, or 'auto'); default: one process")
    parser.add_argument("--out", default="reports", metavar="DIR",
                        help="report folder (default: ./reports); each run gets DIR/runs/<time>/, DIR/latest "
                             "points at the latest complete one")
    parser.add_argument("--seed", type=int, metavar="N",
                        help="Hypothesis seed (pytest --hypothesis-seed); shown in the header and the report")
    parser.add_argument("-k", metavar="EXPR", dest="keyword", help="only tests matching EXPR (pytest -k)")
    parser.add_argument("--isa", metavar="LEVELS",
                        help="run torch once per oneDNN ISA level, each in its own process: 'all' (every level "
                             "this CPU has) or e.g. avx2,avx512_core; combined with --threads. Replaces --target")
    parser.add_argument("--threads", metavar="N,M",
                        help="with --isa: the torch thread counts to run each level at (default 1 and the CPU count)")
    parser.add_argument("--ledger", metavar="PATH",
                        help="the findings ledger a complete run updates (default: DIR/findings.json, next to runs/)")
    parser.add_argument("--pytest-args", action="append", default=[], metavar="ARGS",
                        help="more pytest arguments, shell-quoted: --pytest-args='-x --maxfail 2' (repeatable)")
    add_database_arguments(parser)


def add_database_arguments(parser) -> None:
    parser.add_argument("--db", metavar="LOCATION",
                        help="the Hypothesis example database, read and written by every run and fuzz: a folder or a "
                             f"redis://host:port/N URL (default: ${NAMES['db']}, else OUT/{EXAMPLES_DIR})")
    parser.add_argument("--db-read-only", action="store_true", default=None,
                        help=f"replay the database without writing to it (or ${NAMES['db_read_only']}=on)")


def open_examples(args, out: str):
    """The example database's location and whether it is read-only, checked (one line, exit status 2)."""
    from ..harness.examples import DatabaseError, open_database
    from ..machine.settings import settings
    location = args.db or settings().db or os.path.join(out, EXAMPLES_DIR)
    read_only = settings().db_read_only if args.db_read_only is None else args.db_read_only
    try:
        open_database(location, read_only)
    except DatabaseError as exc:
        raise UsageError(str(exc)) from None
    return location, read_only


def pytest_command(folder: str, targets: list[str], profile: str, workers: str | None, keyword: str | None,
                   extra: list[str], seed: int | None = None, db: tuple[str, bool] | None = None) -> list[str]:
    """The pytest invocation: the suite's folder of this very copy of conv_oracle, records and JUnit XML
    into ``folder``; ``db``: the example database's location and whether it is read-only."""
    cmd = [sys.executable, "-m", "pytest", SUITE_DIR, "-p", "no:cacheprovider", f"--records={folder}",
           f"--junitxml={os.path.join(folder, JUNIT_FILE)}", f"--hypothesis-profile={profile}"]
    if db is not None:
        cmd += [f"--db={db[0]}"] + (["--db-read-only"] if db[1] else [])
    cmd += [f"--target={t}" for t in targets]
    if workers is not None:
        cmd += ["-n", str(workers)]
    if keyword:
        cmd += ["-k", keyword]
    if seed is not None:
        cmd += [f"--hypothesis-seed={seed}"]
    return cmd + extra


def _child_env() -> dict:
    """The child imports this very copy of conv_oracle first."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_PARENT, env.get("PYTHONPATH", "")) if p)
    env.pop(NAMES["records"], None)
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


def _die_with_parent() -> None:
    """In the child: SIGTERM when conv-oracle dies, however it dies (Linux)."""
    try:
        processes.die_with_parent(signal.SIGTERM)
    except Exception:
        pass


class _Terminated(Exception):
    pass


def _on_sigterm(signum, frame):
    raise _Terminated


def _run_pytest(cmd: list[str], env: dict | None = None) -> tuple[int, bool]:
    """pytest's exit status and whether the run was interrupted (Ctrl-C or SIGTERM to conv-oracle).
    When it returns, pytest and every process it started (isolation servers and their workers, xdist
    workers) have ended and been reaped: conv-oracle adopts the orphans (a subreaper) and kills them."""
    processes.become_subreaper()
    before = set(processes.children())
    proc = subprocess.Popen(cmd, env=_child_env() | (env or {}), preexec_fn=_die_with_parent if os.name == "posix" else None)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return proc.wait(), False
    except KeyboardInterrupt:  # the child got the same SIGINT: let it finish its session (records)
        return _wait_after(proc, None), True
    except _Terminated:
        return _wait_after(proc, signal.SIGTERM), True
    finally:
        try:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            processes.kill_children(exclude=before)  # whatever pytest left behind, adopted here
        finally:
            signal.signal(signal.SIGTERM, previous)


def _wait_after(proc, sig) -> int:
    if sig is not None and proc.poll() is None:
        proc.send_signal(sig)
    for _ in range(2):
        try:
            return proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        except KeyboardInterrupt:
            proc.kill()
    return proc.wait()


def _merge_levels(folder: str, runs: int) -> None:
    """Join the per-level runs (``folder/level-i/``) into the run folder: their records concatenated,
    their JUnit test suites under one ``<testsuites>``; the level folders removed."""
    import xml.etree.ElementTree as ET
    text, root = "", ET.Element("testsuites")
    for i in range(runs):
        sub = os.path.join(folder, f"level-{i}")
        _, _ = collect(sub)  # merges the parts a killed pytest left
        with open(os.path.join(sub, records_mod.RECORDS_FILE), encoding="utf-8") as fh:
            text += fh.read()
        try:
            tree = ET.parse(os.path.join(sub, JUNIT_FILE)).getroot()
            root.extend([tree] if tree.tag == "testsuite" else list(tree))
        except (OSError, ET.ParseError):
            pass
        shutil.rmtree(sub, ignore_errors=True)
    records_mod.atomic_write(os.path.join(folder, records_mod.RECORDS_FILE), text)
    if len(root):
        records_mod.atomic_write(os.path.join(folder, JUNIT_FILE), ET.tostring(root, encoding="unicode"))


def _replay(folder: str, targets: list[str], workers, extra: list[str], code: int) -> tuple[int, bool]:
    """Check the examples wrong (or a known deviation) on one target on the targets that never reached
    them (:func:`conv_oracle.harness.fold.replays`, ``conv_oracle/suite/test_replay.py``), in a pytest of
    their own; their records join the run's. Returns the run's exit status (1 if a replay failed) and
    whether the replay was interrupted."""
    from ..harness.fold import replays
    recs, _ = collect(folder)
    todo = replays(recs, targets)
    if not todo:
        return code, False
    sub = os.path.join(folder, "replay")
    os.makedirs(sub)
    examples = os.path.join(sub, "examples.json")
    records_mod.atomic_write(examples, "".join(json.dumps(r, sort_keys=True) + "\n" for r in todo))
    cmd = [sys.executable, "-m", "pytest", os.path.join(SUITE_DIR, "test_replay.py"), "-p", "no:cacheprovider",
           f"--records={sub}", f"--replay={examples}", "-q", *(f"--target={t}" for t in targets), *extra]
    if workers is not None:
        cmd += ["-n", str(workers)]
    print(f"\n== replaying {len(todo)} example(s) wrong on one target on the targets that never reached them",
          flush=True)
    replay_code, interrupted = _run_pytest(cmd)
    os.unlink(examples)
    collect(sub)
    with open(os.path.join(sub, records_mod.RECORDS_FILE), encoding="utf-8") as fh:
        added = fh.read()
    with open(os.path.join(folder, records_mod.RECORDS_FILE), encoding="utf-8") as fh:
        text = fh.read()
    records_mod.atomic_write(os.path.join(folder, records_mod.RECORDS_FILE), text + added)
    shutil.rmtree(sub, ignore_errors=True)
    return (1 if replay_code == 1 else code), interrupted


def _run_levels(folder: str, runs: list[dict], args, extra) -> tuple[int, bool, list[str]]:
    """One pytest per ISA level, each in a process started with that level's caps."""
    codes, interrupted, cmd = [], False, []
    for i, r in enumerate(runs):
        sub = os.path.join(folder, f"level-{i}")
        os.makedirs(sub)
        cmd = pytest_command(sub, r["targets"], args.profile, args.workers, args.keyword, extra, args.seed, args.examples)
        print(f"\n== ISA level {r['level']}: {' '.join(f'{k}={v}' for k, v in r['env'].items())}", flush=True)
        code, interrupted = _run_pytest(cmd, r["env"])
        codes.append(code)
        if interrupted:
            break
    _merge_levels(folder, len(codes))
    code = max(codes, key=lambda c: (c not in (0, 5), c))  # a failing level beats passing and empty ones
    return code, interrupted, cmd


def collect(folder: str) -> tuple[list[dict], str | None]:
    """The run's records (merging parts a killed pytest left) and JUnit XML path, if any."""
    import glob
    if glob.glob(os.path.join(folder, "records.*.jsonl")):
        records_mod.merge(folder)
    path = os.path.join(folder, records_mod.RECORDS_FILE)
    if not os.path.exists(path):
        records_mod.atomic_write(path, "")
    junit = os.path.join(folder, JUNIT_FILE)
    return records_mod.load_in_context(path), junit if os.path.exists(junit) else None


def run_status(code: int, interrupted: bool, examples: int) -> str:
    """complete, interrupted, crashed or empty (see the module docstring)."""
    if interrupted or code == 2:
        return "interrupted"
    if code not in (0, 1, 5):
        return "crashed"
    if code == 5 or examples == 0:
        return "empty"
    return "complete"


def new_run_folder(out: str) -> str:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    folder = os.path.join(out, "runs", f"{stamp}-{os.getpid()}")
    os.makedirs(folder)
    return folder


def point_latest(out: str, folder: str) -> str:
    """Make ``out/latest`` a link to ``folder`` (atomically: a new link renamed over the old)."""
    latest = os.path.join(out, "latest")
    tmp = os.path.join(out, f".latest-{os.getpid()}")
    os.symlink(os.path.relpath(folder, out), tmp)
    os.replace(tmp, latest)
    return latest


#: built-in targets this process need not load to know they run here: torch on the CPU (a dependency of
#: the package). Loading one imports torch (about a second); the pytest process loads them anyway.
CPU_TORCH_TARGETS = ("torch", "torch-no-mkldnn")


def check_targets(targets: list[str]) -> None:
    """Unknown targets are usage errors; a CUDA target without CUDA is an environment problem."""
    import importlib.util
    from ..targets import load_target
    from ..targets.execution import unavailable
    for name in targets:
        if name in CPU_TORCH_TARGETS and "torch" not in sys.modules and importlib.util.find_spec("torch"):
            continue
        try:
            t = load_target(name)
        except ImportError as exc:
            raise EnvironmentProblem(f"--target {name}: {exc}") from None
        if unavailable(t):
            raise EnvironmentProblem(f"--target {name}: {unavailable(t)}")


def summary_lines(summary: dict) -> list[str]:
    """Per target: examples, passed, failed, expected deviations and not checkable (these add up to the
    examples); then the known deviations not reproduced, if any."""
    per = summary["totals"]["targets"]
    rows = [f"{label:<15} " + ", ".join(f"{t} {per[t][key]}" for t in per)
            for label, key in (("examples:", "examples"), ("passed:", "passed"), ("failed:", "failed"),
                               ("deviations:", "deviations"), ("not checkable:", "not_checkable"))]
    missing = [d["id"] for d in (summary.get("paths") or {}).get("deviations", []) if not d["reproduced"]]
    if missing:
        rows.append(f"{'warning:':<15} known deviation(s) NOT REPRODUCED: {', '.join(missing)}")
    return rows


#: failures the run's closing lines name (the report has them all)
FAILURE_DIGEST_MAX = 10
#: lines of each failure's message in its digest
FAILURE_DIGEST_LINES = 6


def failure_digest(summary: dict) -> list[str]:
    """Each failing test in a few lines (test, target, property, dtype, the configuration and the first
    lines of its message), at the end of the run's output where a log's tail keeps them."""
    failures = summary.get("failures") or []
    out = []
    for f in failures[:FAILURE_DIGEST_MAX]:
        where = ", ".join(f"{k} {f[k]}" for k in ("target", "property", "dtype", "mode") if f.get(k))
        out.append(f"FAILED {f['test']}" + (f" ({where})" if where else ""))
        if f.get("describe"):
            out.append(f"  {f['describe']}")
        message = (f.get("message") or "").strip().splitlines()
        out += [f"  {line}" for line in message[:FAILURE_DIGEST_LINES]]
        if len(message) > FAILURE_DIGEST_LINES:
            out.append(f"  ... ({len(message) - FAILURE_DIGEST_LINES} more line(s) in the report)")
    if len(failures) > FAILURE_DIGEST_MAX:
        out.append(f"... and {len(failures) - FAILURE_DIGEST_MAX} more failing test(s) in the report")
    return out


def plan_targets(args, verb: str = "runs") -> tuple[list[str], list[dict] | None, list[str]]:
    """``(targets, ISA matrix plan or None, extra pytest arguments)`` from ``--target``, ``--isa``,
    ``--threads`` and ``--pytest-args`` (shared by ``run`` and ``fuzz``; misuse is one line)."""
    targets = list(dict.fromkeys(args.target or ["torch"]))
    runs = None
    if args.isa:
        if args.target:
            raise UsageError(f"--isa {verb} torch at each ISA level: leave out --target")
        runs = matrix.plan(args.isa, args.threads, cpu_info()["flags"])
        targets = [t for r in runs for t in r["targets"]]
    elif args.threads:
        raise UsageError("--threads goes with --isa (or use targets such as torch@threads=1)")
    try:
        extra = [a for chunk in args.pytest_args for a in shlex.split(chunk)]
    except ValueError as exc:
        raise UsageError(f"--pytest-args: {exc}") from None
    return targets, runs, extra


def main(args) -> int:
    from ..definition.errors import ConvConfigError
    from ..report import write_reports

    targets, runs, extra = plan_targets(args)
    if args.workers is not None and not (str(args.workers).isdigit() or args.workers in ("auto", "logical")):
        raise UsageError(f"-n {args.workers!r}: expected a number of workers, 'auto' or 'logical'")
    out = os.path.abspath(args.out)
    ledger_path = os.path.abspath(args.ledger) if args.ledger else findings_ledger.default_path(out)
    read_ledger(ledger_path)  # a malformed ledger stops the run before it starts, not after
    try:
        os.makedirs(out, exist_ok=True)
        folder = new_run_folder(out)
    except OSError as exc:
        raise UsageError(f"--out {args.out}: {exc.strerror} (the report folder must be writable)") from None
    try:
        check_targets(targets)
        args.examples = open_examples(args, out)
    except (ConvConfigError, EnvironmentProblem, UsageError):
        os.rmdir(folder)
        _remove_if_empty(os.path.join(out, "runs"))
        raise
    cmd = pytest_command(folder, targets, args.profile, args.workers, args.keyword, extra, args.seed, args.examples)
    seed = args.seed if args.seed is not None else ("derandomized" if args.profile in ("ci", "compile") else "random")
    print(f"conv-oracle run: targets {', '.join(targets)}; profile {args.profile}; seed {seed}; "
          f"workers {args.workers or 1}; examples {examples_text(args.examples)}; run folder {folder}", flush=True)
    started, t0 = dt.datetime.now().astimezone(), time.perf_counter()
    if runs:
        code, interrupted, cmd = _run_levels(folder, runs, args, extra)
    else:
        code, interrupted = _run_pytest(cmd)
        if len(targets) > 1 and not interrupted and code in (0, 1):
            code, interrupted = _replay(folder, targets, args.workers, extra, code)
    if code == 4 and not interrupted:  # pytest refused its arguments (its one line is above)
        shutil.rmtree(folder, ignore_errors=True)
        _remove_if_empty(os.path.join(out, "runs"))
        raise UsageError("pytest refused the arguments (see the line above)")
    recs, junit = collect(folder)
    examples = sum(1 for r in recs if r.get("verdict") in JUDGED)
    status = run_status(code, interrupted, examples)
    envs = records_mod.environments(os.path.join(folder, records_mod.RECORDS_FILE))
    meta = {"environment": [summary_line(e) for e in envs] or [summary_line(fingerprint())],
            "targets": targets, "profile": args.profile, "workers": args.workers or 1, "exit_code": code,
            "seed": seed, "run_status": status, "example_database": examples_text(args.examples),
            "started": started.isoformat(timespec="seconds"), "duration_s": round(time.perf_counter() - t0, 2),
            "command": shlex.join(["python", *cmd[1:]]).replace(folder, "<run folder>"), "versions": versions()}
    ledger, found = None, None
    if status == "complete":  # an incomplete run's absences prove nothing
        ledger = read_ledger(ledger_path)
        found = findings_ledger.update(ledger, recs, meta["started"])
    summary = write_reports(folder, recs, junit, meta, found)
    if status == "complete":
        findings_ledger.save(ledger_path, ledger)
        latest = point_latest(out, folder)
    print("", *summary_lines(summary), sep="\n")
    print(f"report:  {summary['files']['html']}\nsummary: {summary['files']['markdown']}")
    if found is not None:
        print(f"ledger:  {ledger_path} ({ledger_phrase(found)})")
    if status == "complete":
        print(f"latest:  {latest} -> {os.path.relpath(folder, out)}")
        if summary["totals"]["all"]["failed"] or code == 1:
            sys.stdout.flush()  # the digest follows the summary in a log that holds both streams
            print("", *failure_digest(summary), sep="\n", file=sys.stderr)
            print(f"conv-oracle run: {len(summary['failures'])} failing test(s); details in the report", file=sys.stderr)
            return EXIT_CHECK_FAILED
        return EXIT_OK
    previous = os.path.join(out, "latest")
    kept = (f"; the previous complete report is still {os.path.join(previous, 'index.html')}"
            if os.path.exists(previous) else "")
    why = {"interrupted": "the run was interrupted", "empty": "no example ran (check -k, --target and --pytest-args)",
           "crashed": f"pytest stopped with exit status {code} (see its output above)"}[status]
    print(f"conv-oracle run: incomplete run ({status}): {why}{kept}", file=sys.stderr)
    return EXIT_INCOMPLETE


def read_ledger(path: str) -> dict:
    """The findings ledger at ``path``; an unreadable one is a usage error (one line)."""
    try:
        return findings_ledger.load(path)
    except findings_ledger.LedgerError as exc:
        raise UsageError(f"--ledger {exc}") from None


def ledger_phrase(found: list[dict]) -> str:
    """``2 new, 1 gone`` for the entries an update touched."""
    counts = {s: sum(f["state"] == s for f in found) for s in findings_ledger.STATES}
    return ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no entry changed"


def examples_text(examples: tuple[str, bool]) -> str:
    return f"{examples[0]}{' (read-only)' if examples[1] else ''}"


def _remove_if_empty(path: str) -> None:
    try:
        os.rmdir(path)
    except OSError:
        pass
