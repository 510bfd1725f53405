"""`conv-oracle snapshot` and `conv-oracle compare`: files, reports, exit statuses, one-line errors."""

import json
import os

import pytest

from conv_oracle.baseline import schema
from conv_oracle.cli import main


@pytest.fixture(scope="module")
def files(planted, tmp_path_factory):
    """Baselines on disk: the 2-D reference target and each planted variant."""
    folder = tmp_path_factory.mktemp("baselines")
    out = {}
    for name in ("reference_functional", "planted_stride_gap", "planted_accepts_groups", "planted_reworded"):
        path = folder / f"{name}.json"
        path.write_text(schema.dumps(planted(name)))
        out[name] = str(path)
    return out


def test_snapshot_writes_a_valid_baseline_and_compare_current_matches_it(cli_snapshot, cli_compare_current):
    out = cli_snapshot.path  # its folder made by the fixture: snapshot never creates folders (a usage error)
    assert cli_snapshot.status == 0, cli_snapshot.err
    assert f"wrote {out}" in cli_snapshot.err and "torch-" in cli_snapshot.err
    data = schema.load(str(out))
    assert data["target"]["name"] == "torch" and data["summary"]["cases"] == data["corpus"]["size"]
    assert os.listdir(out.parent) == [out.name], "a temporary file was left behind"
    assert cli_compare_current.argv[:3] == ("compare", str(out), "current")  # target taken from OLD
    assert cli_compare_current.status == 0, cli_compare_current.out + cli_compare_current.err
    assert "**Result: no contract change**" in cli_compare_current.out
    assert schema.load(str(cli_compare_current.path))["cases"] == data["cases"]


def test_compare_identical_files_exits_0(files, capsys):
    assert main(["compare", files["reference_functional"], files["reference_functional"]]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Convolution behaviour:") and "**Result: no contract change**" in out


def test_compare_planted_fault_exits_1_and_names_the_class(files, capsys):
    assert main(["compare", files["reference_functional"], files["planted_stride_gap"]]) == 1
    out = capsys.readouterr().out
    assert "### Values changed" in out and "now disagrees with the oracle" in out
    assert main(["compare", files["reference_functional"], files["planted_accepts_groups"], "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["regression"] is True and data["counts"]["acceptance"] > 0


def test_compare_message_only_change_exits_0(files, tmp_path, capsys):
    report = tmp_path / "report.md"
    assert main(["compare", files["reference_functional"], files["planted_reworded"], "--out", str(report)]) == 0
    assert capsys.readouterr().out == ""
    text = report.read_text()
    assert "### Message changed" in text and "informational" in text and "**Result: no contract change" in text


@pytest.mark.parametrize("argv, expected", [
    (["--drift-ratio", "0.5"], "--drift-ratio"),
    (["--target", "torch"], "only when NEW is 'current'"),
    (["--out", "/proc/no/such/dir/r.md"], "cannot write"),
    (["--ignore", "/no/such/team.ignore"], "cannot read the ignore file"),
])
def test_compare_usage_errors_are_one_line(files, capsys, argv, expected):
    ref = files["reference_functional"]
    assert main(["compare", ref, ref] + argv) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1 and err.startswith("conv-oracle compare: error:")


def test_compare_current_with_unknown_target_is_one_line(files, capsys):
    assert main(["compare", files["reference_functional"], "current", "--target", "no_such_module_xyz"]) == 2
    err = capsys.readouterr().err
    assert "no_such_module_xyz" in err and err.count("\n") == 1


def test_snapshot_unwritable_output_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["snapshot", "--out", str(blocker / "x.json")]) == 2  # fails before snapshotting
    err = capsys.readouterr().err
    assert "cannot write" in err and "is a file, not a folder" in err and err.count("\n") == 1
    assert main(["snapshot", "--out", str(tmp_path)]) == 2
    assert "it is a folder" in capsys.readouterr().err


def test_snapshot_unknown_target_is_one_line(tmp_path, capsys):
    assert main(["snapshot", "--target", "no_such_module_xyz", "--out", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err
    assert "no_such_module_xyz" in err and err.count("\n") == 1


def test_compare_with_an_ignore_file(files, tmp_path, capsys):
    """The planted acceptance fault, accepted case by case with a reason: exit 0, listed as ignored."""
    ref, bad = files["reference_functional"], files["planted_accepts_groups"]
    assert main(["compare", ref, bad, "--json"]) == 1
    ids = sorted({c["id"] for c in json.loads(capsys.readouterr().out)["changes"] if c["regression"]})
    accepted = tmp_path / "team.ignore"
    accepted.write_text("".join(f"{i}:acceptance  # groups <= 0 runs as 1 in our wrapper, on purpose\n" for i in ids))
    assert main(["compare", ref, bad, "--ignore", str(accepted)]) == 0
    out = capsys.readouterr().out
    assert "### Accepted by the ignore file" in out and "on purpose" in out and "no contract change" in out
    no_reason = tmp_path / "bad.ignore"
    no_reason.write_text(f"{ids[0]}\n")
    assert main(["compare", ref, bad, "--ignore", str(no_reason)]) == 2
    err = capsys.readouterr().err
    assert "has no reason" in err and err.count("\n") == 1
