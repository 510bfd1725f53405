"""Loading baselines: anything unusable is a one-line BaselineError, never a traceback or a pass."""

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conv_oracle.baseline import schema
from conv_oracle.baseline.schema import BaselineError
from conv_oracle.cli import main as cli_main

ROOT = str(Path(__file__).resolve().parents[2])


@pytest.fixture(scope="module")
def good(planted):
    """A real, valid baseline (the unmodified 2-D reference target)."""
    return planted("reference_functional")


@pytest.fixture(scope="module")
def good_file(good, tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "good.json"
    path.write_text(schema.dumps(good))
    return str(path)


def _broken(good):
    text = schema.dumps(good)
    data = json.loads(text)

    def edited(fn):
        d = copy.deepcopy(data)
        fn(d)
        return json.dumps(d)

    return {
        "truncated": (text[: len(text) // 2], "truncated"),
        "truncated inside a string": (text[: text.index('"label"') + 12], "truncated"),
        "malformed": (text.replace('"cases": [', '"cases": [,', 1), "malformed JSON"),
        "empty": ("", "empty file"),
        "foreign schema": (edited(lambda d: d.update(schema="some-other-tool")), "not a conv-oracle baseline"),
        "foreign, no schema": (json.dumps({"records": []}), "not a conv-oracle baseline"),
        "foreign, a list": (json.dumps([1, 2, 3]), "not a conv-oracle baseline"),
        "newer version": (edited(lambda d: d.update(version=schema.VERSION + 1)), "newer than this conv_oracle"),
        "version not a number": (edited(lambda d: d.update(version="1")), "positive integer"),
        "missing cases": (edited(lambda d: d.pop("cases")), "no 'cases' field"),
        "missing environment": (edited(lambda d: d.pop("environment")), "no 'environment' field"),
        "missing torch version": (edited(lambda d: d["environment"].pop("torch_version")), "'torch_version'"),
        "case missing outcome": (edited(lambda d: d["cases"][3].pop("outcome")), "case 3"),
        "case with a bad verdict": (edited(lambda d: d["cases"][0].update(verdict="meh")), "verdict 'meh'"),
        "case of the wrong type": (edited(lambda d: d["cases"][0].update(output_shape="1x2")), "output_shape"),
        "a case removed": (edited(lambda d: d["cases"].pop()), "cut short or edited"),
        "no cases": (edited(lambda d: (d["cases"].clear(), d["corpus"].update(size=0))), "no cases"),
        "duplicate id": (edited(lambda d: d["cases"][1].update(id=d["cases"][0]["id"])), "appears twice"),
    }


def test_dumps_round_trips(good):
    assert schema.loads(schema.dumps(good)) == json.loads(json.dumps(good))


def test_dumps_writes_one_case_per_line(good):
    lines = schema.dumps(good).splitlines()
    assert sum(1 for line in lines if line.lstrip().startswith('{"')) == len(good["cases"])


def test_each_kind_of_broken_baseline_is_a_clear_error(good):
    for name, (text, expected) in _broken(good).items():
        with pytest.raises(BaselineError) as info:
            schema.loads(text, "x.json")
        msg = str(info.value)
        assert expected in msg, f"{name}: {msg!r} does not say {expected!r}"
        assert msg.startswith("x.json: ") and "\n" not in msg, f"{name}: not one line naming the file: {msg!r}"


def test_unreadable_and_binary_files(tmp_path):
    with pytest.raises(BaselineError, match="cannot read"):
        schema.load(str(tmp_path / "nope.json"))
    binary = tmp_path / "b.json"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(BaselineError, match="not a text"):
        schema.load(str(binary))


def test_cli_reports_each_broken_baseline_in_one_line_with_exit_2(good, good_file, tmp_path, capsys):
    for i, (name, (text, expected)) in enumerate(_broken(good).items()):
        bad = tmp_path / f"bad{i}.json"
        bad.write_text(text)
        for argv in (["compare", str(bad), good_file], ["compare", good_file, str(bad)]):
            assert cli_main(argv) == 2, name
            out, err = capsys.readouterr()
            assert out == "", f"{name}: printed a report for a broken baseline"
            assert err.count("\n") == 1 and err.startswith("conv-oracle compare: error: ") and expected in err, \
                f"{name}: {err!r}"


def test_no_traceback_from_the_command(tmp_path, good_file):
    """End to end, in a fresh interpreter: exit status 2, one line on stderr, nothing else."""
    bad = tmp_path / "cut.json"
    bad.write_text(open(good_file).read()[:1000])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-m", "conv_oracle", "compare", str(bad), good_file],
                          capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert "truncated" in proc.stderr and proc.stdout == ""


def _as_version_1(snap):
    """``snap`` as schema version 1 wrote it: no machine facts, float32 coverage only."""
    old = copy.deepcopy(snap)
    old["version"] = 1
    old.pop("fingerprint"), old.pop("hardware_class")
    for c in old["cases"]:
        if c.get("coverage"):
            c["coverage"] = c["coverage"]["float32"]
        if "coverage_float32" in c["mismatches"]:
            c["mismatches"]["coverage"] = c["mismatches"].pop("coverage_float32")
    return old


def test_a_version_1_baseline_is_migrated_and_compared_on_the_contract_only(good):
    from conv_oracle.baseline.diff import compare
    old = schema.loads(json.dumps(_as_version_1(good)), "v1.json")
    assert old["migrated_from"] == 1 and old["version"] == schema.VERSION and old["hardware_class"] is None
    assert all(set(c["coverage"]) == {"float32"} for c in old["cases"] if c.get("coverage"))
    cmp = compare(old, good)
    assert not cmp.regressions() and not cmp.same_hardware
    assert any("schema-v1" in n for n in cmp.notes)


def test_an_unknown_older_version_is_refused_in_one_line(good):
    data = json.loads(schema.dumps(good))
    data["version"] = 0
    with pytest.raises(BaselineError, match="positive integer"):
        schema.loads(json.dumps(data), "x.json")
