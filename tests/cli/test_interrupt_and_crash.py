"""Interrupt-proof and crash-proof runs (end to end, seconds each): SIGINT to the process group
halfway keeps the previous complete report and marks the partial one; an interrupt (SIGINT to the
group, SIGTERM to conv-oracle, pytest killed) while a target call hangs leaves no process behind, not
even a zombie; a planted target that segfaults on a narrow family of configurations gives a red
report naming the crash and a shrunk configuration, with the other tests' results and records
present."""

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conv_oracle import cli
from conv_oracle.harness import records as R

pytestmark = pytest.mark.e2e

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
META = os.path.join(ROOT, "tests", "meta")
FAULTY = os.path.join(ROOT, "tests", "cli", "faulty_targets")


def command(*args):
    return [sys.executable, "-m", "conv_oracle.cli", "run", "--out", "out", "--profile", "dev", *args]


def environment():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, META, os.environ.get("PYTHONPATH", "")]))
    for name in ("CONV_ORACLE_RECORDS", "CONV_ORACLE_TARGET", "CONV_ORACLE_PROFILE", "CONV_ORACLE_ISOLATION"):
        env.pop(name, None)
    return env


def interruptible():
    """Ctrl-C's default action in the child: a shell starts a background job with SIGINT ignored, and an
    ignored signal stays ignored across exec, so a test run launched that way would otherwise test nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def group(pgid: int) -> str:
    """The processes left in a process group, one line each (pid, parent, state, command line)."""
    lines = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                with open(f"/proc/{pid}/cmdline", "rb") as fh:
                    cmd = fh.read().replace(b"\0", b" ").decode(errors="replace").strip() or "(exited, not reaped)"
                lines.append(f"pid {pid} parent {fields[1]} state {fields[0]}: {cmd}")
        except (OSError, IndexError, ValueError):
            pass
    return "\n".join(lines)


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


def test_sigint_to_the_process_group_keeps_the_last_good_report(output_shape_run, tmp_path):
    folder, first = output_shape_run
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr
    out = tmp_path / "out"
    shutil.copytree(folder / "out", out, symlinks=True)  # a complete run's report (latest: a relative link)
    good = os.path.realpath(out / "latest")
    ledger = (out / "findings.json").read_text()
    proc = subprocess.Popen(command("-k", "test_forward or test_gradient"), cwd=tmp_path, env=environment(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=interruptible)
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
    assert len(partial) == 1 and sorted(os.listdir(out)) == ["examples", "findings.json", "latest", "runs"]  # no temporary folders (examples: the database)
    assert (out / "findings.json").read_text() == ledger  # an interrupted run's absences prove nothing
    summary = json.loads(open(os.path.join(partial[0], "summary.json")).read())
    assert summary["run_status"] == "interrupted" and summary["ok"] is False
    assert summary["totals"]["all"]["examples"] >= 20  # streamed records survived the interrupt
    assert "INTERRUPTED" in open(os.path.join(partial[0], "index.html")).read()
    assert not glob.glob(os.path.join(partial[0], "records.*.jsonl"))  # parts merged
    for line in stdout.splitlines():
        if line.startswith(("report:", "summary:")):
            assert os.path.exists(line.split(None, 1)[1]), line
    # killing conv-oracle ended its pytest child and the workers, and reaped them: nothing is left in
    # the group, not even a zombie for init to reap, the moment conv-oracle has exited
    left = group(proc.pid)
    assert not left, f"left in the group after conv-oracle exited:\n{left}"
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)


def start_hanging_run(tmp_path, argv):
    """``argv`` on the planted target whose conv2d never returns, in a process group of its own;
    returns it and the pid of the worker once that worker is stuck in the call."""
    marker = tmp_path / "hanging"
    env = environment()
    env["PYTHONPATH"] = os.pathsep.join([FAULTY, env["PYTHONPATH"]])
    env["CONV_ORACLE_HANG_MARKER"] = str(marker)
    proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=interruptible)
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate(timeout=60)
        time.sleep(0.1)
    worker = int(marker.read_text())
    assert os.getpgid(worker) == proc.pid  # the hanging worker is in the run's process group
    return proc, worker


HANGING = ["--target", "hang_in_conv2d", "-k", "test_forward_exact and float64"]


@pytest.mark.parametrize("how", ["SIGINT to the group", "SIGTERM to conv-oracle"])
def test_an_interrupt_during_a_hanging_call_leaves_no_process(tmp_path, how):
    proc, worker = start_hanging_run(tmp_path, command(*HANGING))
    t0 = time.monotonic()
    if how == "SIGINT to the group":
        os.killpg(proc.pid, signal.SIGINT)
    else:
        os.kill(proc.pid, signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    elapsed = time.monotonic() - t0
    left = group(proc.pid)  # at once, no grace: conv-oracle reaps every descendant before it exits
    assert proc.returncode == cli.EXIT_INCOMPLETE, stdout[-2000:] + stderr
    assert "incomplete run (interrupted)" in stderr
    assert not left, f"left in the group after conv-oracle exited ({how}):\n{left}"
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)
    with pytest.raises(ProcessLookupError):
        os.kill(worker, 0)
    assert elapsed < 20, f"conv-oracle took {elapsed:.1f} s to stop"  # not the 30 s fallback kill


@pytest.mark.parametrize("how", ["SIGINT to the group", "SIGKILL to pytest"])
def test_pytest_alone_interrupted_or_killed_during_a_hanging_call_leaves_no_process(tmp_path, how):
    """Without conv-oracle: pytest's own exit stops the fork server and its worker; a pytest killed
    outright takes them with it (they die with their parent)."""
    argv = [sys.executable, "-m", "pytest", os.path.join(ROOT, "conv_oracle", "suite"), "-p", "no:cacheprovider",
            "-q", "--hypothesis-profile=dev", *HANGING]
    proc, worker = start_hanging_run(tmp_path, argv)
    if how == "SIGINT to the group":
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.kill()
    stdout, stderr = proc.communicate(timeout=120)
    if how == "SIGINT to the group":  # pytest stopped and reaped them itself: nothing left at once
        left = group(proc.pid)
        assert proc.returncode == 2 and not left, f"{stdout[-2000:]}{stderr}\nleft in the group:\n{left}"
    else:  # orphans: the system's init reaps them, in its own time (seconds on some machines)
        deadline = time.monotonic() + 10
        while (left := group(proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not left, f"left in the group 10 s after pytest was killed:\n{left}"
    with pytest.raises(ProcessLookupError):
        os.kill(worker, 0)


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
