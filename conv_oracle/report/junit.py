"""Reading pytest's JUnit XML: test-level outcomes (what records cannot show: skips, errors outside
examples), with the standard library's XML parser."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

MAX_TEXT = 4000


def _nodeid(classname: str, name: str) -> str:
    """``conv_oracle.suite.test_forward`` + ``test_x[p]`` -> ``conv_oracle/suite/test_forward.py::test_x[p]``."""
    return f"{classname.replace('.', '/')}.py::{name}" if classname else name


def read(path: str) -> dict | None:
    """Counts (tests, failures, errors, skipped, time) and one entry per test case with its outcome
    ('passed', 'failed', 'error', 'skipped'), message and text; None if the file is missing or unreadable."""
    if not path or not os.path.exists(path):
        return None
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        return None
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    cases = []
    for case in (c for s in suites for c in s.iter("testcase")):
        outcome, message, text = "passed", "", ""
        for tag in ("failure", "error", "skipped"):
            el = case.find(tag)
            if el is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                message, text = el.get("message", ""), (el.text or "")[:MAX_TEXT]
                break
        cases.append({"test": _nodeid(case.get("classname", ""), case.get("name", "")), "outcome": outcome,
                      "message": message.splitlines()[0][:500] if message else "", "text": text,
                      "time": float(case.get("time", 0) or 0)})
    count = {o: sum(c["outcome"] == o for c in cases) for o in ("passed", "failed", "error", "skipped")}
    return {"tests": len(cases), **count, "time": round(sum(float(s.get("time", 0) or 0) for s in suites), 3),
            "cases": cases}
