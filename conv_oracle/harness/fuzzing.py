"""Progress of a fuzzing campaign (``conv-oracle fuzz``): each HypoFuzz worker process counts the examples it
ran per verdict and rewrites ``progress.<pid>.json`` in the progress folder (atomically, every few seconds);
:func:`read_progress` sums the files for the controller's progress lines and the report.

A fuzz worker keeps no records in memory (it runs for hours); its findings are saved in the example database
and replayed afterwards into records by an ordinary run (``conv-oracle fuzz``)."""

from __future__ import annotations

import glob
import json
import os
import time
from collections import Counter

from .records import Verdict, atomic_write

__all__ = ["Progress", "read_progress", "VERDICT_KEYS"]

#: verdict -> the key it is counted under
VERDICT_KEYS = {Verdict.PASS: "passed", Verdict.FAIL: "failed", Verdict.DEVIATION: "deviations",
                Verdict.NOT_CHECKABLE: "not_checkable"}


class Progress:
    """This process's counts, rewritten to ``folder/progress.<pid>.json`` at most every ``interval`` seconds."""

    def __init__(self, folder: str, interval: float = 2.0):
        self.path = os.path.join(folder, f"progress.{os.getpid()}.json")
        self.interval, self.counts, self.tests = interval, Counter(), Counter()
        self._written = 0.0

    def add(self, rec: dict) -> None:
        verdict = rec.get("verdict")
        if verdict is None:
            return
        self.counts["examples"] += 1
        self.counts[VERDICT_KEYS.get(verdict, str(verdict))] += 1
        self.tests[f"{rec.get('property')}[{rec.get('target')}]"] += 1
        if time.monotonic() - self._written >= self.interval:
            self.write()

    def write(self) -> None:
        self._written = time.monotonic()
        atomic_write(self.path, json.dumps({"pid": os.getpid(), **self.counts, "properties": dict(self.tests)}))


def read_progress(folder: str) -> dict:
    """The summed counts of every process (``examples``, ``passed``, ``failed``, ...), ``processes`` (those
    that ran an example), their ``pids`` and ``properties`` (examples per property and target)."""
    total, props, procs, pids = Counter(), Counter(), 0, []
    for path in glob.glob(os.path.join(folder, "progress.*.json")):
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            continue
        if data.get("examples"):  # the hub's collection writes an empty file
            procs += 1
            pids.append(data.get("pid"))
        props.update(data.pop("properties", {}))
        data.pop("pid", None)
        total.update({k: v for k, v in data.items() if isinstance(v, int)})
    return {"processes": procs, **{k: total.get(k, 0) for k in ("examples", *VERDICT_KEYS.values())},
            "properties": dict(props), "pids": sorted(pids)}
