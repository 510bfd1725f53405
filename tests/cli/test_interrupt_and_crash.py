"""Interrupt-proof and crash-proof runs (end to end, seconds each): SIGINT to the process group
halfway keeps the previous complete report and marks the partial one; a planted target that
segfaults on a narrow family of configurations gives a red report naming the crash and a shrunk
configuration, with the other tests' results and records present."""

import glob
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conv_oracle import cli, records as R

pytestmark = pytest.mark.e2e

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
META = os.path.join(ROOT, "tests", "meta")


def command(*args):
    return [sys.executable, "-m", "conv_oracle.cli", "run", "--out", "out", "--profile", "dev", *args]


def environment():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, META, os.environ.get("PYTHONPATH", "")]))
    for name in ("CONV_ORACLE_RECORDS", "CONV_ORACLE_TARGET", "CONV_ORACLE_PROFILE", "CONV_ORACLE_ISOLATION"):
        env.pop(name, None)
    return env


def streamed_examples(part: str) -> int:
    """The example records (what the summary counts) in a part being written: not its environment
    line, nor a last line still incomplete."""
    count = 0
    with open(part) as fh:
        for line in fh:
            try:
                count += "environment" not in json.loads(line)
            except ValueError:
                pass
    return count


def test_sigint_to_the_process_group_keeps_the_last_good_report(tmp_path):
    out = tmp_path / "out"
    first = subprocess.run(command("-k", "test_output_shape"), cwd=tmp_path, env=environment(),
                           capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr
    good = os.path.realpath(out / "latest")
    proc = subprocess.Popen(command("-k", "test_forward or test_gradient"), cwd=tmp_path, env=environment(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # halfway: some records streamed, the run still going
        parts = glob.glob(str(out / "runs" / "*" / "records.*.jsonl"))
        if parts and streamed_examples(parts[0]) >= 20:
            break
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == cli.EXIT_INCOMPLETE, stdout[-2000:] + stderr
    assert "incomplete run (interrupted)" in stderr
    assert os.path.realpath(out / "latest") == good  # the previous complete report is untouched
    assert json.loads((out / "latest" / "summary.json").read_text())["run_status"] == "complete"
    partial = [f for f in glob.glob(str(out / "runs" / "*")) if os.path.realpath(f) != good]
    assert len(partial) == 1 and sorted(os.listdir(out)) == ["latest", "runs"]  # no temporary folders
    summary = json.loads(open(os.path.join(partial[0], "summary.json")).read())
    assert summary["run_status"] == "interrupted" and summary["ok"] is False
    assert summary["totals"]["all"]["examples"] >= 20  # streamed records survived the interrupt
    assert "INTERRUPTED" in open(os.path.join(partial[0], "index.html")).read()
    assert not glob.glob(os.path.join(partial[0], "records.*.jsonl"))  # parts merged
    for line in stdout.splitlines():
        if line.startswith(("report:", "summary:")):
            assert os.path.exists(line.split(None, 1)[1]), line
    # killing conv-oracle ended its pytest child and the workers: nothing is left in the group
    time.sleep(0.5)
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)


def test_planted_segfault_gives_a_red_report_with_a_shrunk_configuration(tmp_path):
    proc = subprocess.run(command("--profile", "ci", "--target", "faulty.segfault",
                                  "-k", "test_forward_exact and float64 or test_bias_only_output_cells and float64"),
                          cwd=tmp_path, env=environment(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == cli.EXIT_CHECK_FAILED, proc.stdout[-3000:] + proc.stderr
    out = tmp_path / "out" / "latest"
    summary = json.loads((out / "summary.json").read_text())
    fails = summary["failures"]
    assert [f["test"].split("::")[-1] for f in fails] == ["test_forward_exact[faulty.segfault-float64]"]
    crash = fails[0]
    assert "SIGSEGV" in crash["message"] and crash["reported"]
    shrunk = crash["case"]  # the minimal member of the family: a 2-tap kernel, dilation 2
    assert shrunk["kernel_size"][0] == 2 and shrunk["dilation"][0] == 2 and shrunk["in_channels"] == 1
    assert "faulty.segfault.conv2d(x, w, b" in crash["snippet"]
    records = R.load(str(out / "records.jsonl"))
    others = [r for r in records if r["property"] == "bias_only_output_cells"]
    assert others and all(r["verdict"] == "pass" for r in others)  # the other test ran, recorded
    assert summary["totals"]["all"]["shrinking"] > 0
    page = (out / "index.html").read_text()
    assert "FAILED" in page and "SIGSEGV" in page
