"""`conv-oracle fuzz`: the suite's properties under HypoFuzz (coverage-guided, adaptive) for a time budget,
``-n`` processes, the targets and path variants of ``run``. Progress lines name the examples run and
failing so far. Every failure HypoFuzz finds is shrunk and saved in the example database (``--db``, the one
``run`` reads and writes, default ``OUT/examples``); when the budget is spent the fuzzers stop and an ordinary
run of the ``replay`` profile turns what the database holds for these properties into records and a report,
in a run folder of its own, marked complete or interrupted like a run's (``OUT/latest`` follows complete ones).
Crash isolation and the known deviations apply unchanged (a known deviation is not a failure to HypoFuzz).

Exit status: 0 no failure, 1 a failure (found now or held by the database), 2 usage or configuration error,
3 environment problem (HypoFuzz not installed), 4 incomplete (interrupted, a HypoFuzz worker died, or the
replay crashed).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

from ..harness.fuzzing import read_progress
from ..harness.records import JUDGED
from ..machine import processes
from ..machine.fingerprint import fingerprint, summary_line
from . import EXIT_CHECK_FAILED, EXIT_INCOMPLETE, EXIT_OK, EnvironmentProblem, UsageError
from . import run as run_mod

PROGRESS_DIR = "fuzz-progress"
#: HypoFuzz's own bookkeeping (its corpus, observations, reports), kept between campaigns: OUT/fuzz-state
STATE_DIR = "fuzz-state"
#: seconds between SIGINT to the fuzzers and SIGKILL
STOP_GRACE = 10.0
_UNITS = {"s": 1, "m": 60, "h": 3600}


def add_arguments(parser):
    parser.add_argument("--budget", default="30m", metavar="DURATION",
                        help="how long to fuzz: 90s, 5m, 1h, 1h30m or plain seconds (default 30m)")
    parser.add_argument("-n", "--processes", default="1", metavar="N",
                        help="HypoFuzz worker processes (default 1)")
    parser.add_argument("--target", action="append", metavar="NAME",
                        help="target to fuzz (repeatable; default torch), path variants included (torch@isa=avx2)")
    parser.add_argument("--isa", metavar="LEVELS",
                        help="fuzz torch at each oneDNN ISA level ('all' or e.g. avx2,avx512_core), with --threads; "
                             "replaces --target")
    parser.add_argument("--threads", metavar="N,M", help="with --isa: the torch thread counts")
    parser.add_argument("--out", default="reports", metavar="DIR",
                        help="report folder (default ./reports): the run folder goes to DIR/runs/<time>/")
    parser.add_argument("-k", metavar="EXPR", dest="keyword", help="only properties matching EXPR (pytest -k)")
    parser.add_argument("--pytest-args", action="append", default=[], metavar="ARGS",
                        help="more pytest arguments for the fuzzers and the replay, shell-quoted (repeatable)")
    run_mod.add_database_arguments(parser)


def parse_budget(text: str) -> float:
    """Seconds in ``90``, ``90s``, ``5m``, ``1h30m``; a usage error otherwise."""
    t = text.strip().lower()
    parts = re.fullmatch(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?", t)
    if not t or not parts or not any(parts.groups()):
        raise UsageError(f"--budget {text!r}: expected a duration such as 90s, 5m, 1h or 1h30m")
    seconds = sum(float(v) * u for v, u in zip(parts.groups(), (3600, 60, 1)) if v)
    if seconds <= 0:
        raise UsageError(f"--budget {text!r}: must be longer than 0 seconds")
    return seconds


def duration_text(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return (f"{h}h" if h else "") + (f"{m}m" if m or h else "") + f"{s}s"


def hypofuzz_command(targets: list[str], processes_n: int, keyword: str | None, extra: list[str],
                     db: tuple[str, bool], progress: str, state: str) -> list[str]:
    """HypoFuzz over the suite's folder of this very copy of conv_oracle (no dashboard), on the dev profile
    (HypoFuzz leaves derandomized tests out; it ignores the example counts)."""
    cmd = [sys.executable, "-c", "import hypofuzz.entrypoint; from hypothesis.extra.cli import main; main()",
           "fuzz", "-n", str(processes_n), "--no-dashboard", "--",
           run_mod.SUITE_DIR, "-p", "no:cacheprovider", "--hypothesis-profile=dev", f"--db={db[0]}",
           f"--fuzz-progress={progress}", f"--fuzz-state={state}"] + (["--db-read-only"] if db[1] else [])
    cmd += [f"--target={t}" for t in targets]
    if keyword:
        cmd += ["-k", keyword]
    return cmd + extra


def progress_text(p: dict) -> str:
    text = f"{p['examples']:,} examples in {p['processes']} process(es): {p['failed']:,} failing"
    if p["deviations"]:
        text += f", {p['deviations']:,} known deviations"
    if p["not_checkable"]:
        text += f", {p['not_checkable']:,} not checkable"
    return text


def _fuzz(cmd: list[str], budget: float, progress: str) -> tuple[int | None, bool, float, bool]:
    """Run HypoFuzz until the budget is spent (or it ends, or conv-oracle is interrupted); then stop it and
    everything it started. Returns its exit status if it ended by itself, whether conv-oracle was
    interrupted, the seconds it ran, and whether one of its worker processes died (HypoFuzz's hub keeps
    going without it, so this watches the processes that wrote progress, the hub's children)."""
    processes.become_subreaper()
    before = set(processes.children())
    proc = subprocess.Popen(cmd, env=run_mod._child_env(), start_new_session=True,
                            preexec_fn=run_mod._die_with_parent if os.name == "posix" else None)
    previous = signal.signal(signal.SIGTERM, run_mod._on_sigterm)
    t0 = time.monotonic()
    interval = max(5.0, min(60.0, budget / 10))
    next_line, code, interrupted, died = t0 + interval, None, False, False
    try:
        while True:
            workers = read_progress(progress)["pids"]
            if workers and not died:
                live = set(processes.children(proc.pid, alive=True))
                if any(pid not in live for pid in workers):
                    died = True
                    print("conv-oracle fuzz: a HypoFuzz worker process died (its traceback is above)", flush=True)
            now = time.monotonic()
            if now - t0 >= budget:
                break
            try:
                code = proc.wait(timeout=min(1.0, budget - (now - t0)))
                break
            except subprocess.TimeoutExpired:
                pass
            if time.monotonic() >= next_line:
                next_line += interval
                print(f"fuzz {duration_text(time.monotonic() - t0)} / {duration_text(budget)}: "
                      f"{progress_text(read_progress(progress))}", flush=True)
    except (KeyboardInterrupt, run_mod._Terminated):
        interrupted = True
    finally:
        elapsed = time.monotonic() - t0
        try:
            _stop(proc)
            processes.kill_children(exclude=before)
        finally:
            signal.signal(signal.SIGTERM, previous)
    return code, interrupted, elapsed, died


def _stop(proc) -> None:
    """SIGINT to HypoFuzz's process group (its workers finish their database writes), SIGKILL after a grace."""
    for sig, wait in ((signal.SIGINT, STOP_GRACE), (signal.SIGKILL, 30.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        try:  # the leader is gone; its workers may not be
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return


def _require_hypofuzz() -> None:
    try:
        import hypofuzz  # noqa: F401
    except ImportError:
        raise EnvironmentProblem("conv-oracle fuzz needs HypoFuzz: pip install 'conv_oracle[fuzz]'") from None


def main(args) -> int:
    from ..definition.errors import ConvConfigError
    from ..report import write_reports

    budget = parse_budget(args.budget)
    if not (str(args.processes).isdigit() and int(args.processes) >= 1):
        raise UsageError(f"-n {args.processes!r}: expected a number of processes, at least 1")
    targets, _, extra = run_mod.plan_targets(args, "fuzzes")
    out = os.path.abspath(args.out)
    try:
        os.makedirs(out, exist_ok=True)
        folder = run_mod.new_run_folder(out)
    except OSError as exc:
        raise UsageError(f"--out {args.out}: {exc.strerror} (the report folder must be writable)") from None
    try:
        run_mod.check_targets(targets)
        examples = run_mod.open_examples(args, out)
        _require_hypofuzz()
    except (ConvConfigError, EnvironmentProblem, UsageError):
        shutil.rmtree(folder, ignore_errors=True)
        run_mod._remove_if_empty(os.path.join(out, "runs"))
        raise
    progress = os.path.join(folder, PROGRESS_DIR)
    os.makedirs(progress)
    n = int(args.processes)
    cmd = hypofuzz_command(targets, n, args.keyword, extra, examples, progress, os.path.join(out, STATE_DIR))
    print(f"conv-oracle fuzz: targets {', '.join(targets)}; budget {duration_text(budget)}; processes {n}; "
          f"examples {run_mod.examples_text(examples)}; run folder {folder}", flush=True)
    print(f"environment: {summary_line(fingerprint())}", flush=True)
    started, t0 = dt.datetime.now().astimezone(), time.perf_counter()
    code, interrupted, elapsed, died = _fuzz(cmd, budget, progress)
    counts = read_progress(progress)
    shutil.rmtree(progress, ignore_errors=True)
    if code not in (None, 1) and not interrupted and counts["examples"] == 0:
        shutil.rmtree(folder, ignore_errors=True)
        run_mod._remove_if_empty(os.path.join(out, "runs"))
        raise UsageError(f"HypoFuzz stopped with exit status {code} before fuzzing anything (see the lines above)")
    print(f"fuzz ended after {duration_text(elapsed)}: {progress_text(counts)}", flush=True)
    replay_code = None
    if not interrupted:
        print("\n== replaying the example database's failures for these properties", flush=True)
        replay = run_mod.pytest_command(folder, targets, "replay", None, args.keyword, extra, None, examples)
        replay_code, interrupted = run_mod._run_pytest(replay)
    recs, junit = run_mod.collect(folder)
    if interrupted:
        status = "interrupted"
    elif replay_code not in (0, 1, 5) or died:
        status = "crashed"
    else:
        status = "complete"
    meta = {"environment": [summary_line(fingerprint())], "targets": targets, "profile": "HypoFuzz, then replay",
            "workers": n, "exit_code": replay_code if replay_code is not None else 2, "seed": "random (HypoFuzz)",
            "run_status": status, "example_database": run_mod.examples_text(examples),
            "fuzz": f"{duration_text(elapsed)} of {duration_text(budget)} on {n} process(es): {progress_text(counts)}",
            "fuzz_counts": counts, "started": started.isoformat(timespec="seconds"),
            "duration_s": round(time.perf_counter() - t0, 2),
            "command": shlex.join(["conv-oracle", *sys.argv[1:]]), "versions": run_mod.versions()}
    summary = write_reports(folder, recs, junit, meta)
    print("", *run_mod.summary_lines(summary), sep="\n")
    print(f"report:  {summary['files']['html']}\nsummary: {summary['files']['markdown']}")
    replayed = sum(1 for r in recs if r.get("verdict") in JUDGED)
    if status == "complete":
        latest = run_mod.point_latest(out, folder)
        print(f"latest:  {latest} -> {os.path.relpath(folder, out)}")
        if summary["totals"]["all"]["failed"] or replay_code == 1:
            print(f"conv-oracle fuzz: {len(summary['failures'])} failing test(s) ({replayed} examples replayed); "
                  "details in the report", file=sys.stderr)
            return EXIT_CHECK_FAILED
        return EXIT_OK
    why = {"interrupted": "the run was interrupted",
           "crashed": "a HypoFuzz worker died (see its traceback above)" if died else
           f"the replay's pytest stopped with exit status {replay_code} (see its output above)"}[status]
    print(f"conv-oracle fuzz: incomplete run ({status}): {why}", file=sys.stderr)
    return EXIT_INCOMPLETE
