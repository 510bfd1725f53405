"""Layer 7, the report of a run: may import layers 0-6, not its peers suite and baseline.

The report of a suite run: ``summary.json``, ``summary.md`` and ``index.html`` from the records
(``records.jsonl``) and pytest's JUnit XML. :func:`write_reports` is what ``conv-oracle run`` calls.

* :mod:`.summary`: records -> summary dict (pure aggregation)
* :mod:`.markdown`, :mod:`.html` (+ :mod:`.svg` heatmaps, :mod:`.text` grids): summary -> text
* :mod:`.junit`: pytest's JUnit XML -> test-level outcomes
* :mod:`.where`: the fold across contexts (targets, machines, torch versions), side by side
* :mod:`.ledger`: the findings ledger (one entry per distinct defect, across runs)
"""

from __future__ import annotations

import json
import os

from ..harness.records import atomic_write
from . import html, junit, markdown
from .summary import summarize

FILES = {"summary": "summary.json", "markdown": "summary.md", "html": "index.html"}

__all__ = ["write_reports", "summarize", "FILES"]


def write_reports(folder: str, records: list[dict], junit_path: str | None = None,
                  meta: dict | None = None, findings: list[dict] | None = None) -> dict:
    """Summarise ``records`` and write the three report files into ``folder``, each atomically
    (``findings``: the ledger entries to show, :func:`.ledger.update`'s result).

    Returns the summary; its ``files`` maps ``summary`` / ``markdown`` / ``html`` to the files
    (``paths`` is the execution-path summary, as in summary.json)."""
    summary = summarize(records, meta, junit.read(junit_path) if junit_path else None, findings)
    paths = {k: os.path.join(folder, name) for k, name in FILES.items()}
    atomic_write(paths["summary"], json.dumps(summary, indent=1, sort_keys=True, allow_nan=False) + "\n")
    atomic_write(paths["markdown"], markdown.render(summary))
    atomic_write(paths["html"], html.render(summary))
    summary["files"] = paths
    return summary
