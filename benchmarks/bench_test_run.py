"""Benchmark: where the project's own test run spends its CPU time, over its whole process tree.

Run on demand (not collected by pytest), on otherwise idle cores:

    python benchmarks/bench_test_run.py [--interval 0.05] [--top 25] [-- PYTEST ARGS...]

Runs ``python -m pytest`` with the README's arguments (``-n auto --cov=conv_oracle
--cov-report=term:skip-covered``) or the ones after ``--``, and reads ``/proc`` every ``--interval``
seconds: each process's CPU time (user + system), its parent and command line, and the test that was
running when it started (pytest's ``PYTEST_CURRENT_TEST``, inherited by the processes a test starts).
Then prints the wall time, the CPU-seconds of the tree, and the CPU-seconds per part:

* ``pytest workers``: the xdist workers themselves (collection, the tests run in-process, coverage's
  tracer);
* ``isolation``: the fork servers the workers start (``conv_oracle.checks.isolation``) and the workers
  forked from them, where the in-process tests' properties and snapshots run;
* ``subprocess: FILE``: what each test file's subprocesses cost (end-to-end runs, pytest in pytest),
  with the costliest tests listed below.

A process that ends between two reads counts with its CPU time at the last read (at most one interval
short). Linux only.
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import threading
import time

HZ = os.sysconf("SC_CLK_TCK")
README_ARGS = ["-n", "auto", "--cov=conv_oracle", "--cov-report=term:skip-covered"]


def _read(pid: str) -> tuple[int, float, int] | None:
    """``(parent pid, CPU seconds, start time in ticks)`` of a process, None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / HZ, int(fields[19])


def _about(pid: str) -> tuple[str, str]:
    """``(command line, the test running when it started)``."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmd = fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
        with open(f"/proc/{pid}/environ", "rb") as fh:
            env = dict(kv.split(b"=", 1) for kv in fh.read().split(b"\0") if b"=" in kv)
        return cmd, env.get(b"PYTEST_CURRENT_TEST", b"").decode(errors="replace").rsplit(" (", 1)[0]
    except OSError:
        return "", ""


class Sampler(threading.Thread):
    """Reads every process's CPU time until stopped; keeps the last reading of each."""

    def __init__(self, interval: float):
        super().__init__(daemon=True)
        self.interval, self.stopped, self.seen = interval, threading.Event(), {}

    def scan(self) -> None:
        for pid in os.listdir("/proc"):
            if pid.isdigit() and (got := _read(pid)) is not None:
                ppid, cpu, start = got
                key = (int(pid), start)
                if key not in self.seen:
                    self.seen[key] = {"pid": int(pid), "ppid": ppid, "cpu": cpu, **dict(zip(("cmd", "test"), _about(pid)))}
                self.seen[key]["cpu"] = cpu

    def run(self) -> None:
        while not self.stopped.is_set():
            self.scan()
            self.stopped.wait(self.interval)
        self.scan()


def breakdown(rows: list[dict], root: int) -> tuple[collections.Counter, collections.Counter]:
    """CPU-seconds per part of the tree under ``root`` (see the module docstring; without xdist the tests
    run in ``root`` itself), and per test that started subprocesses."""
    by_pid = {r["pid"]: r for r in rows}
    runners = {root} | {r["pid"] for r in rows if r["ppid"] == root and "exec(eval" in r["cmd"]}  # xdist workers
    parts, tests = collections.Counter(), collections.Counter()
    for r in rows:
        if r["pid"] in runners:
            if r["pid"] != root:
                parts["pytest workers"] += r["cpu"]
            continue
        top = r  # the process a runner started, above r
        while top is not None and top["ppid"] not in runners:
            top = by_pid.get(top["ppid"])
        if top is None:
            continue  # not in the tree
        if "conv_oracle.checks.isolation" in top["cmd"]:
            parts["isolation (fork servers and their workers)"] += r["cpu"]
        else:
            parts[f"subprocess: {top['test'].split('::')[0] or top['cmd'][:60]}"] += r["cpu"]
            tests[top["test"] or top["cmd"][:100]] += r["cpu"]
    return parts, tests


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--interval", type=float, default=0.05, help="seconds between two reads of /proc")
    ap.add_argument("--top", type=int, default=25, help="tests listed by the CPU time of their subprocesses")
    ap.add_argument("pytest_args", nargs="*", help="after --: pytest's arguments (default: the README's)")
    args = ap.parse_args(argv)
    sampler = Sampler(args.interval)
    sampler.start()
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "pytest", *(args.pytest_args or README_ARGS), "-q"],
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    code = proc.wait()
    wall = time.monotonic() - t0
    sampler.stopped.set()
    sampler.join()
    rows = list(sampler.seen.values())
    parts, tests = breakdown(rows, proc.pid)
    root = next((r["cpu"] for r in rows if r["pid"] == proc.pid), 0.0)
    print(f"\npytest exit status {code}; wall {wall:.1f} s; CPU {root + sum(parts.values()):.1f} s "
          f"(pytest main {root:.1f} s)")
    for name, cpu in parts.most_common():
        print(f"{cpu:8.1f}  {name}")
    print(f"\nthe {args.top} tests whose subprocesses cost most:")
    for name, cpu in tests.most_common(args.top):
        print(f"{cpu:8.1f}  {name}")
    return code


if __name__ == "__main__":
    sys.exit(main())
