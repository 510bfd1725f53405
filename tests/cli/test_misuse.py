"""Every misuse gets one line on stderr and its own exit status (README: 2 usage or configuration,
3 environment), never a traceback; --version and --help are for users."""

import os

import numpy as np
import pytest

from conv_oracle import cli
from conv_oracle.definition.errors import ConvConfigError
import conv_oracle as co


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_unknown_target_is_a_usage_error(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "--target", "no_such_target_xyz"]) == cli.EXIT_USAGE
    assert "no_such_target_xyz" in one_line(capsys)
    assert not (tmp_path / "reports" / "runs").exists()  # no run folder left behind


def test_cuda_target_without_cuda_is_an_environment_problem(capsys, tmp_path, monkeypatch):
    import torch
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "--target", "torch-cuda"]) == cli.EXIT_ENVIRONMENT
    assert "CUDA is not available" in one_line(capsys)


def test_out_that_is_not_writable(capsys, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert cli.main(["run", "--out", str(blocker / "reports")]) == cli.EXIT_USAGE
    assert "--out" in one_line(capsys)


@pytest.mark.parametrize("args, words", [
    (["run", "--db", "http://example.invalid/db"], "--db 'http://example.invalid/db': must be a folder or a redis://"),
    (["fuzz", "--db", "http://example.invalid/db"], "--db 'http://example.invalid/db': must be a folder or a redis://"),
    (["run", "--db", "redis://127.0.0.1:1/0"], "--db redis://127.0.0.1:1/0: "),  # nothing listens on port 1
    (["fuzz", "--budget", "soon"], "--budget 'soon': expected a duration such as 90s, 5m, 1h or 1h30m"),
    (["fuzz", "--budget", "0s"], "--budget '0s': must be longer than 0 seconds"),
    (["fuzz", "-n", "0"], "-n '0': expected a number of processes, at least 1"),
    (["fuzz", "--threads", "1"], "--threads goes with --isa"),
])
def test_database_and_fuzz_misuse_is_one_line(capsys, tmp_path, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CONV_ORACLE_DB", raising=False)
    assert cli.main(args) == cli.EXIT_USAGE
    assert words in one_line(capsys)
    assert not (tmp_path / "reports" / "runs").exists() or not os.listdir(tmp_path / "reports" / "runs")


def test_fuzz_budget_forms():
    from conv_oracle.cli.fuzz import duration_text, parse_budget
    assert [parse_budget(t) for t in ("90", "90s", "5m", "1h", "1h30m", "2.5m")] == [90, 90, 300, 3600, 5400, 150]
    assert duration_text(5400) == "1h30m0s" and duration_text(20) == "20s"


def test_explain_refuses_sizes_that_do_not_fit(capsys):
    assert cli.main(["explain", "conv2d", "--input", "100000x100000", "--kernel", "3"]) == cli.EXIT_USAGE
    assert "cells, more than explain handles" in one_line(capsys)


def test_explain_output_is_bounded(capsys):
    assert cli.main(["explain", "conv2d", "--input", "200x200", "--kernel", "3"]) == 0
    out = capsys.readouterr().out
    assert len(out) < 20_000 and "too many to print" in out


@pytest.mark.parametrize("value", ["2xx", "x2", "2,,3", "two"])
def test_malformed_stride(capsys, value):
    assert cli.main(["explain", "conv2d", "--input", "5x5", "--kernel", "3", "--stride", value]) == cli.EXIT_USAGE
    assert f"--stride {value!r}" in one_line(capsys)


def test_zero_input_channels_in_the_oracle():
    with pytest.raises(ConvConfigError, match="in_channels/groups"):
        co.conv2d(np.zeros((1, 0, 3, 3)), np.zeros((2, 0, 1, 1)))


def test_snapshot_into_a_missing_folder(capsys, tmp_path):
    out = tmp_path / "missing" / "base.json"
    assert cli.main(["snapshot", "--out", str(out)]) == cli.EXIT_USAGE
    assert "does not exist" in one_line(capsys)
    assert not (tmp_path / "missing").exists()  # no folder made silently


def test_unknown_option_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["run", "--no-such-option"])
    assert exit_.value.code == cli.EXIT_USAGE
    assert "unrecognized arguments" in one_line(capsys)


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"conv-oracle {co.__version__}"


def test_help_is_written_for_users(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert "examples:" in out and "exit status: 0 passed, 1 a check failed" in out
    assert "conv-oracle run" in out and "reports/latest" in out


def test_explain_survives_a_crashing_target(capsys, monkeypatch):
    """explain runs torch in the isolated worker: a native crash there is reported, not fatal."""
    from conv_oracle.cli import explanation
    from conv_oracle.checks import isolation
    from conv_oracle.definition.case import Case

    case = Case(op="conv", nd=1, batch=None, in_channels=1, out_channels=1, groups=1, input_size=(3,),
                kernel_size=(1,), stride=(1,), padding=0, dilation=(1,), output_padding=0, output_size=None,
                padding_mode="zeros", bias=False)

    class Died(isolation.Worker):
        def request(self, fn, args, kwargs, timeout):
            raise isolation._Died("crashed: the worker process killed by signal 11 (SIGSEGV: Segmentation fault)")

    monkeypatch.setattr(isolation, "Worker", Died)
    isolation.shutdown()
    try:
        result = explanation.compute(case)
    finally:
        isolation.shutdown()
    assert result.torch is None and "SIGSEGV" in result.torch_error


def test_workers_are_capped_per_process(monkeypatch):
    """Many targets in one process (baselines of planted modules) keep at most MAX_LIVE workers."""
    from conv_oracle.checks import isolation

    closed = []

    class Fake:
        def __init__(self, target):
            self.name = target.name

        def close(self):
            closed.append(self.name)

    class T:
        def __init__(self, name):
            self.name = name

    monkeypatch.setattr(isolation, "Supervisor", Fake)
    monkeypatch.setattr(isolation, "_supervisors", {})
    for name in ["a", "b", "c", "a", "d"]:
        isolation.supervisor(T(name))
    assert closed == ["b"] and len(isolation._supervisors) == isolation.MAX_LIVE


@pytest.mark.parametrize("content", ['{"findings": []}', "not json"])
def test_a_ledger_that_is_not_one_stops_the_run_before_it_starts(capsys, tmp_path, content):
    ledger = tmp_path / "findings.json"
    ledger.write_text(content)
    assert cli.main(["run", "--out", str(tmp_path / "reports"), "--ledger", str(ledger)]) == cli.EXIT_USAGE
    assert f"--ledger {ledger}" in one_line(capsys)
    assert not (tmp_path / "reports").exists() and ledger.read_text() == content  # nothing ran, nothing replaced
