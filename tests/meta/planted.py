"""One suite run for every planted target the meta-tests check through pytest.

Each planted target used to get a pytest process of its own: ~2 s of interpreter, torch and plugin
start, plus a fork server, per target, for a run of a second or two. Here the targets a test session
needs (the ``planted`` marks of its tests) run together in one process, each with its own ``-k``
selection, with records; each test then reads its own target's part (failed tests, failure sections,
records). Their fork server is shared (one per environment, :mod:`conv_oracle.checks.isolation`),
while each target keeps a worker of its own."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
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


def run(selections: dict[str, str], records_dir: str) -> PlantedRun:
    """The suite over ``selections`` (target -> its ``-k`` expression), derandomized (profile meta), with
    records in ``records_dir``."""
    expression = " or ".join(f"({target} and ({sel}))" for target, sel in sorted(selections.items()))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([HERE, ROOT, os.environ.get("PYTHONPATH", "")]))
    env.pop("PYTEST_XDIST_WORKER", None)
    cmd = [sys.executable, "-m", "pytest", os.path.join(ROOT, "conv_oracle", "suite"), "-p", "no:cacheprovider",
           "-q", "-p", "no:randomly", "--hypothesis-profile", "meta", "--records", records_dir,
           "-k", expression]
    for target in sorted(selections):
        cmd += ["--target", target]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    records = []
    for name in sorted(os.listdir(records_dir)) if os.path.isdir(records_dir) else ():
        if name.endswith(".jsonl"):
            with open(os.path.join(records_dir, name)) as fh:
                records += [json.loads(line) for line in fh if line.strip()]
    return PlantedRun(proc.returncode, proc.stdout + proc.stderr, records)
