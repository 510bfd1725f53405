"""Shared end-to-end runs of the CLI tests."""

import fcntl
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:  # the e2e helper, imported by name like the other test folders' helpers
    sys.path.insert(0, HERE)

from e2e import conv_oracle_run  # noqa: E402


@pytest.fixture(scope="session")
def output_shape_run(tmp_path_factory):
    """``(folder, proc)``: one complete ``conv-oracle run -n 2 -k test_output_shape --seed 7`` in ``folder``
    (report in ``folder/out``), run once per test run and shared by the tests that check it or need a
    last good report (test_run, test_interrupt_and_crash), across
    xdist workers (the first to ask runs it; the others wait for it). Read it; copy it to change it."""
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "cli-output-shape-run"
    saved = folder / "proc.json"
    with open(f"{folder}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not saved.exists():
            folder.mkdir(exist_ok=True)
            proc = conv_oracle_run(folder, "-n", "2", "-k", "test_output_shape", "--seed", "7")
            saved.write_text(json.dumps({"args": proc.args, "returncode": proc.returncode, "stdout": proc.stdout,
                                         "stderr": proc.stderr}))
    data = json.loads(saved.read_text())
    return folder, subprocess.CompletedProcess(data["args"], data["returncode"], data["stdout"], data["stderr"])
