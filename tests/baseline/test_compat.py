"""Unsupported torch / numpy combinations are refused in one line, before torch is imported."""

import pytest

from conv_oracle.cli import main
from conv_oracle.machine import compat


def test_the_installed_combination_is_supported():
    assert compat.check() is None


@pytest.mark.parametrize("torch_v, says", [("2.2.0", "install 'numpy<2'"), ("2.0.1", "older than the oldest"),
                                           ("1.13.1", "older than the oldest")])
def test_old_torch_is_refused_in_one_line(monkeypatch, torch_v, says):
    import numpy
    monkeypatch.setattr(compat, "_installed", lambda name: torch_v if name == "torch" else None)
    monkeypatch.setattr(numpy, "__version__", "2.4.6")
    msg = compat.check()
    assert msg and says in msg and torch_v in msg and "\n" not in msg


def test_torch_2_2_with_numpy_1_passes_the_version_rules(monkeypatch):
    import numpy
    monkeypatch.setattr(compat, "_installed", lambda name: "2.2.0" if name == "torch" else None)
    monkeypatch.setattr(numpy, "__version__", "1.26.4")
    assert compat.check() is None  # the rest of the check runs the installed torch


def test_snapshot_refuses_before_any_work(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(compat, "check", lambda: "torch 2.0.1 is older than the oldest supported release 2.2")
    assert main(["snapshot", "--out", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "older than the oldest" in err and not (tmp_path / "x.json").exists()
