"""One suite run for every planted target the meta-tests check through pytest.

Each planted target used to get a pytest process of its own: ~2 s of interpreter, torch and plugin
start, plus a fork server, per target, for a run of a second or two. Here the targets a test session
needs (the ``planted`` marks of its tests) run together in one process, each with its own ``-k``
selection, with records; each test then reads its own target's part (failed tests, failure sections,
records). Their fork server is shared (one per environment, :mod:`conv_oracle.checks.isolation`),
while each target keeps a worker of its own. The run starts in the background when collection ends
(by the first xdist worker to get there), so no worker waits for it unless it needs it first."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

_HEADER = re.compile(r"^_{3,} (.+?) _{3,}$")


@dataclass
class PlantedRun:
    """The output, exit status and records of one suite run over several planted targets."""

    returncode: int
    out: str
    records: list[dict] = field(default_factory=list)

    def failed(self, target: str) -> list[str]:
        """The short summary's FAILED/ERROR lines for ``target``'s tests."""
        return [line for line in self.out.splitlines()
                if line.startswith(("FAILED", "ERROR")) and _names(line, target)]

    def section(self, target: str) -> str:
        """The failure report sections of ``target``'s tests, joined."""
        parts, keep = [], False
        for line in self.out.splitlines():
            head = _HEADER.match(line)
            if head or line.startswith("=" * 10):
                keep = bool(head) and _names(head.group(1), target)
            if keep:
                parts.append(line)
        return "\n".join(parts)

    def records_of(self, target: str) -> list[dict]:
        return [r for r in self.records if r.get("target") == target]

    def tail(self, target: str) -> str:
        """What a failing assertion shows: the target's sections and summary lines, or the run's end."""
        mine = self.section(target) + "\n" + "\n".join(self.failed(target))
        return (mine if mine.strip() else self.out)[-3000:]


def _names(text: str, target: str) -> bool:
    return re.search(rf"\[{re.escape(target)}(?:-|\])", text) is not None


def start(selections: dict[str, str], folder: str) -> threading.Thread:
    """Start the suite over ``selections`` (target -> its ``-k`` expression) in the background,
    derandomized (profile meta), with records and output in ``folder``; when it ends, its exit status
    is written to ``folder``/rc (atomically). Returns the thread that waits for it."""
    expression = " or ".join(f"({target} and ({sel}))" for target, sel in sorted(selections.items()))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([HERE, ROOT, os.environ.get("PYTHONPATH", "")]))
    env.pop("PYTEST_XDIST_WORKER", None)
    cmd = [sys.executable, "-m", "pytest", os.path.join(ROOT, "conv_oracle", "suite"), "-p", "no:cacheprovider",
           "-q", "-p", "no:randomly", "--hypothesis-profile", "meta", "--records", os.path.join(folder, "records"),
           "-k", expression]
    for target in sorted(selections):
        cmd += ["--target", target]
    with open(os.path.join(folder, "out.txt"), "w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    def wait():
        try:
            code = proc.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = f"killed after {TIMEOUT_S} s"
        with open(os.path.join(folder, "rc.tmp"), "w") as fh:
            fh.write(str(proc.wait() if isinstance(code, int) else code))
        os.replace(os.path.join(folder, "rc.tmp"), os.path.join(folder, "rc"))

    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    return thread


#: the longest the planted run may take (it takes ~20 s on 2 idle cores)
TIMEOUT_S = 1200


def result(folder: str) -> PlantedRun:
    """The planted run in ``folder``, once it has ended (started by this process or another)."""
    rc_path = os.path.join(folder, "rc")
    deadline = time.monotonic() + TIMEOUT_S + 60
    while not os.path.exists(rc_path):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the planted run in {folder} did not end")
        time.sleep(0.1)
    with open(rc_path) as fh:
        rc = fh.read()
    with open(os.path.join(folder, "out.txt")) as fh:
        out = fh.read()
    if not rc.lstrip("-").isdigit():
        raise AssertionError(f"the planted run was {rc}:\n{out[-3000:]}")
    if int(rc) not in (0, 1):  # 2 to 5: interrupted, internal error, usage error (a target not importable), none
        raise AssertionError(f"the planted run exited {rc}, so it ran no test to read:\n{out[-3000:]}")
    records = []
    records_dir = os.path.join(folder, "records")
    for name in sorted(os.listdir(records_dir)) if os.path.isdir(records_dir) else ():
        if name.endswith(".jsonl"):
            with open(os.path.join(records_dir, name)) as fh:
                records += [json.loads(line) for line in fh if line.strip()]
    return PlantedRun(int(rc), out, records)
