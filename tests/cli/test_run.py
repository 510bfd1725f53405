"""`conv-oracle run`: the suite through pytest, then the five report files (conv_oracle.cli.run).

The end-to-end tests (marked e2e) run a small subset with the dev profile; each takes seconds."""

import json
import os
import shutil
import sys

import pytest

from conv_oracle import cli
from conv_oracle.cli import run as cmd
from conv_oracle.harness import records as R
from e2e import conv_oracle_run

FILES = ["index.html", "junit.xml", "records.jsonl", "summary.json", "summary.md"]


def run_folder(out, proc):
    """The run folder conv-oracle printed in its first line (it must exist)."""
    first = proc.stdout.splitlines()[0]
    folder = first.rsplit("run folder ", 1)[1]
    assert os.path.isdir(folder) and os.path.dirname(folder) == str(out / "runs")
    return folder


def printed_paths_exist(proc):
    for line in proc.stdout.splitlines():
        if line.startswith(("report:", "summary:")):
            assert os.path.exists(line.split(None, 1)[1]), line


@pytest.mark.e2e
def test_run_writes_the_five_files_into_its_own_folder_and_points_latest(output_shape_run):
    where, proc = output_shape_run
    out = where / "out"
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    folder = run_folder(out, proc)
    assert sorted(os.listdir(folder)) == FILES  # no .tmp- leftovers, no record parts
    assert sorted(os.listdir(out)) == ["examples", "findings.json", "latest", "runs"]  # the ledger and the database beside the runs
    assert json.loads((out / "findings.json").read_text())["findings"] == []  # nothing failed: nothing found
    assert f"ledger:  {out / 'findings.json'} (no entry changed)" in proc.stdout.splitlines()
    assert os.path.realpath(out / "latest") == os.path.realpath(folder)
    records = R.load(str(out / "latest" / "records.jsonl"))
    assert R.environments(str(out / "latest" / "records.jsonl"))  # the fingerprint of each process that ran examples
    summary = json.loads((out / "latest" / "summary.json").read_text())
    assert records and {r["property"] for r in records} == {"output_shape"}
    tally = {"examples": len(records), "passed": len(records), "failed": 0, "deviations": 0, "not_checkable": 0}
    assert summary["totals"]["targets"]["torch"] == {**tally, "shrinking": 0, "shrinking_failed": 0, "drawn": tally}
    assert summary["junit"]["tests"] == 1 and summary["ok"] is True and summary["run_status"] == "complete"
    assert summary["meta"]["environment"] and "torch" in summary["meta"]["environment"][0]
    assert summary["meta"]["seed"] == 7 and "--hypothesis-seed=7" in summary["meta"]["command"]
    assert "[100%]" in proc.stdout and "seed: 7" in proc.stdout  # pytest's header streamed through
    lines = proc.stdout.splitlines()
    assert f"examples:       torch {len(records)}" in lines and "failed:         torch 0" in lines
    assert "deviations:     torch 0" in lines and "not checkable:  torch 0" in lines
    printed_paths_exist(proc)
    assert (out / "latest" / "summary.md").read_text().startswith("# conv_oracle report: PASSED")


@pytest.mark.e2e
def test_run_fails_on_a_planted_faulty_target(tmp_path):
    proc = conv_oracle_run(tmp_path, "--target", "conv_plus_one", "-k", "test_forward_exact and float64")
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr
    out = tmp_path / "out" / "latest"
    assert sorted(os.listdir(out)) == FILES
    summary = json.loads((out / "summary.json").read_text())
    fails = summary["failures"]
    assert len(fails) == 1 and fails[0]["target"] == "conv_plus_one" and fails[0]["op"] == "conv"
    assert all(c["got"] == c["expected"] + 1 for c in fails[0]["cells"])
    assert "out = conv_plus_one.conv2d(x, w, b" in fails[0]["snippet"]
    (found,) = json.loads((tmp_path / "out" / "findings.json").read_text())["findings"]  # one defect, one entry
    assert found["state"] == "new" and found["describe"] == fails[0]["describe"] and found["targets"] == ["conv_plus_one"]
    page = (out / "index.html").read_text()
    assert "FAILED" in page and "conv_plus_one.conv2d(x, w, b" in page
    assert (out / "summary.md").read_text().startswith("# conv_oracle report: FAILED")
    assert "1 failing test(s)" in proc.stderr
    tail = proc.stderr.splitlines()[-8:]  # the digest closes the output, where a log's tail keeps it
    assert tail[-1].startswith("conv-oracle run: 1 failing test(s)")
    assert f"FAILED {fails[0]['test']} (target conv_plus_one, property forward_exact, dtype float64" in "\n".join(tail)
    assert f"  {fails[0]['describe']}" in tail
    printed_paths_exist(proc)


@pytest.mark.e2e
def test_run_with_nothing_collected_is_incomplete_and_keeps_latest(output_shape_run, tmp_path):
    folder, first = output_shape_run
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr
    out = tmp_path / "out"
    shutil.copytree(folder / "out", out, symlinks=True)  # the complete run's report (latest: a relative link)
    complete = os.path.realpath(out / "latest")
    proc = conv_oracle_run(tmp_path, "-k", "no_test_is_called_this")
    assert proc.returncode == cli.EXIT_INCOMPLETE
    assert "incomplete run (empty)" in proc.stderr and "previous complete report" in proc.stderr
    assert os.path.realpath(out / "latest") == complete  # the last good report stays
    summary = json.loads(open(os.path.join(run_folder(out, proc), "summary.json")).read())
    assert summary["run_status"] == "empty" and summary["ok"] is False
    assert "EMPTY" in open(os.path.join(run_folder(out, proc), "index.html")).read()
    printed_paths_exist(proc)


def test_checking_the_cpu_torch_targets_does_not_load_torch():
    """The run's own process does not import torch for the built-in CPU targets (its pytest process loads
    them); any other name is still loaded there, so a bad one is a one-line error before pytest starts."""
    import subprocess
    code = ("import sys; from conv_oracle.cli.run import check_targets; check_targets(['torch', 'torch-no-mkldnn']); "
            "print('torch' in sys.modules); check_targets(['torch@threads=1']); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.split() == ["False", "True"], out.stderr


def test_pytest_command_carries_every_option():
    c = cmd.pytest_command("/o", ["torch", "mod.x"], "dev", "2", "test_a", ["-x"])
    assert c[:4] == [sys.executable, "-m", "pytest", cmd.SUITE_DIR]
    assert os.path.exists(os.path.join(cmd.SUITE_DIR, "conftest.py"))
    for arg in ("-p", "no:cacheprovider", "--records=/o", "--junitxml=/o/junit.xml", "--hypothesis-profile=dev",
                "--target=torch", "--target=mod.x"):
        assert arg in c
    assert c[-5:] == ["-n", "2", "-k", "test_a", "-x"]


def test_summary_lines_add_up_and_warn_about_unreproduced_deviations():
    s = {"totals": {"targets": {"torch": {"examples": 9, "passed": 4, "failed": 1, "deviations": 3, "not_checkable": 1},
                                "other": {"examples": 2, "passed": 2, "failed": 0, "deviations": 0, "not_checkable": 0}}},
         "paths": {"deviations": [{"id": "a", "reproduced": True}, {"id": "b", "reproduced": False}]}}
    assert cmd.summary_lines(s) == ["examples:       torch 9, other 2", "passed:         torch 4, other 2",
                                    "failed:         torch 1, other 0", "deviations:     torch 3, other 0",
                                    "not checkable:  torch 1, other 0",
                                    "warning:        known deviation(s) NOT REPRODUCED: b"]


@pytest.mark.parametrize("argv, message", [
    (["run", "-n", "many"], "-n 'many': expected a number of workers"),
    (["run", "--pytest-args=-k 'unclosed"], "--pytest-args: No closing quotation"),
])
def test_unusable_options_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "reports").exists()


def test_failure_digest_names_each_failure_and_caps_its_length():
    long = "\n".join(f"line {i}" for i in range(cmd.FAILURE_DIGEST_LINES + 3))
    one = {"test": "t.py::test_a[x]", "target": "jax", "property": "gradient_weight", "dtype": "float32",
           "mode": "exact", "describe": "conv2d(x, w)", "message": long}
    digest = cmd.failure_digest({"failures": [one]})
    assert digest[0] == "FAILED t.py::test_a[x] (target jax, property gradient_weight, dtype float32, mode exact)"
    assert digest[1] == "  conv2d(x, w)" and digest[2] == "  line 0"
    assert digest[-1] == "  ... (3 more line(s) in the report)"
    assert len(digest) == 2 + cmd.FAILURE_DIGEST_LINES + 1
    bare = {"test": "t.py::test_b", "target": None, "message": "failed without a failing record: boom"}
    many = cmd.failure_digest({"failures": [bare] * (cmd.FAILURE_DIGEST_MAX + 2)})
    assert many[0] == "FAILED t.py::test_b" and many[1] == "  failed without a failing record: boom"
    assert many[-1] == "... and 2 more failing test(s) in the report"
    assert cmd.failure_digest({"failures": []}) == []
