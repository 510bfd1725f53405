"""`conv-oracle merge`: run folders from several machines (here: ISA caps standing in for them) joined into
one report with the fold across them, and the findings ledger updated once per distinct defect."""

import json
import os
import subprocess
import sys

import pytest

from conv_oracle import cli
from conv_oracle.definition.case import Case
from conv_oracle.harness import records as R

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAULTY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "faulty_targets")
sys.path.insert(0, os.path.join(ROOT, "tests", "reports"))
from records_kit import GAPPY_CONV, record  # noqa: E402

SMALL = Case("conv", 2, 1, 1, 1, 1, (5, 5), (2, 2), stride=3)


def fingerprint(cap):
    return {"cpu": {"arch": "x86_64", "flags": ["avx2", "avx512f"], "model": "Xeon", "vendor": "GenuineIntel"},
            "env": {"ONEDNN_MAX_CPU_ISA": cap}, "torch": {"version": "2.13.0", "cpu_capability": "AVX512"}}


def run_folder(path, cap, records, started, status="complete"):
    """A run folder as conv-oracle run leaves it (the files merge reads: records.jsonl, summary.json)."""
    path.mkdir(parents=True)
    lines = [{"environment": fingerprint(cap), "worker": "main"}] + records
    (path / "records.jsonl").write_text("".join(json.dumps(x, sort_keys=True) + "\n" for x in lines))
    meta = {"started": started, "run_status": status, "exit_code": 0, "targets": ["planted"], "profile": "ci"}
    (path / "summary.json").write_text(json.dumps({"meta": meta}))
    return str(path)


def example(fail=False, case=GAPPY_CONV, **kw):
    return record(case, target="planted", fail=fail, dtype="float32", mode="exact", x_layout="contiguous",
                  w_layout="contiguous", seed=3, path={"backend": "Mkldnn"}, **kw)


def test_merge_of_two_machines_says_where_the_example_is_wrong_and_right(tmp_path, capsys):
    test = "conv_oracle/suite/test_forward.py::test_forward_exact[planted-float32]"
    a = run_folder(tmp_path / "a", "AVX2", [example(fail=True, test=test, reported=True), example(case=SMALL)],
                   "2026-12-04T10:00:00+01:00")
    b = run_folder(tmp_path / "b", "AVX512_CORE", [example(), example(case=SMALL)], "2026-12-04T10:05:00+00:00")
    out = tmp_path / "reports" / "merged"
    assert cli.main(["merge", a, b, "--out", str(out)]) == cli.EXIT_CHECK_FAILED
    printed = capsys.readouterr().out
    assert "wrong at planted on cap=AVX2; right at planted on cap=AVX512_CORE" in printed
    assert sorted(os.listdir(out)) == ["index.html", "records.jsonl", "summary.json", "summary.md"]
    merged = R.load(str(out / "records.jsonl"))
    assert len(merged) == 4 and [r["run"]["folder"] for r in merged] == [a, a, b, b]
    assert merged[0]["run"]["started"] == "2026-12-04T09:00:00+00:00"  # in UTC
    assert len(R.environments(str(out / "records.jsonl"))) == 2
    summary = json.loads((out / "summary.json").read_text())
    assert summary["meta"]["targets"] == ["planted on cap=AVX2", "planted on cap=AVX512_CORE"]
    assert [r["folder"] for r in summary["meta"]["runs"]] == [a, b]
    assert "wrong at planted on cap=AVX2; right at planted on cap=AVX512_CORE" in (out / "summary.md").read_text()
    ledger = json.loads((tmp_path / "reports" / "findings.json").read_text())
    (f,) = ledger["findings"]
    assert f["state"] == "new" and f["describe"] == GAPPY_CONV.describe() and f["machines"][0].endswith("cap=AVX2 aten=AVX512 cpu")
    assert f["first_seen"] == "2026-12-04T09:00:00+00:00"
    # the merged report merges again (its records keep their runs), and the finding is seen once more
    assert cli.main(["merge", str(out), "--out", str(tmp_path / "again"), "--ledger", str(tmp_path / "l.json")]) == 1
    again = R.load(str(tmp_path / "again" / "records.jsonl"))
    assert [r["run"]["folder"] for r in again] == [a, a, b, b]


def test_an_incomplete_run_makes_no_finding_gone(tmp_path, capsys):
    test = "conv_oracle/suite/test_forward.py::test_forward_exact[planted-float32]"
    a = run_folder(tmp_path / "a", "AVX2", [example(fail=True, test=test, reported=True)], "2026-12-04T10:00:00+00:00")
    ledger = str(tmp_path / "findings.json")
    assert cli.main(["merge", a, "--out", str(tmp_path / "m1"), "--ledger", ledger]) == 1
    later = [example()]  # the same test on the same machine, passing
    b = run_folder(tmp_path / "b", "AVX2", later, "2026-12-05T10:00:00+00:00", status="interrupted")
    assert cli.main(["merge", b, "--out", str(tmp_path / "m2"), "--ledger", ledger]) == 0
    assert json.loads(open(ledger).read())["findings"][0]["state"] == "new"
    c = run_folder(tmp_path / "c", "AVX2", later, "2026-12-05T11:00:00+00:00")
    assert cli.main(["merge", c, "--out", str(tmp_path / "m3"), "--ledger", ledger]) == 0
    assert json.loads(open(ledger).read())["findings"][0]["state"] == "gone"
    assert "(1 gone)" in capsys.readouterr().out


def test_merge_misuse_is_one_line(tmp_path, capsys):
    a = run_folder(tmp_path / "a", "AVX2", [example()], "2026-12-04T10:00:00+00:00")
    (tmp_path / "empty").mkdir()
    for argv, why in ((["merge", str(tmp_path / "missing")], "not a folder"),
                      (["merge", str(tmp_path / "empty")], "no records.jsonl in it"),
                      (["merge", a, a + "/"], "given twice"),
                      (["merge", a, "--out", a], "is one of the run folders merged")):
        assert cli.main(argv + ([] if "--out" in argv else ["--out", str(tmp_path / "m")])) == cli.EXIT_USAGE
        err = capsys.readouterr().err
        assert err.startswith("conv-oracle merge: error: ") and why in err and err.count("\n") == 1, err
    assert not (tmp_path / "m").exists() and sorted(os.listdir(a)) == ["records.jsonl", "summary.json"]


def conv_oracle(cwd, *args, cap=None):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, FAULTY, os.environ.get("PYTHONPATH", "")]))
    for name in ("CONV_ORACLE_RECORDS", "CONV_ORACLE_TARGET", "CONV_ORACLE_PROFILE", "ONEDNN_MAX_CPU_ISA",
                 "DNNL_MAX_CPU_ISA"):
        env.pop(name, None)
    if cap:
        env["ONEDNN_MAX_CPU_ISA"] = cap
    return subprocess.run([sys.executable, "-m", "conv_oracle.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.heavy
def test_two_isa_caps_merged_give_one_report_and_one_finding(tmp_path):
    """Two real runs of a target wrong only under ONEDNN_MAX_CPU_ISA=AVX2 (standing in for two machines),
    merged: every failing example is wrong at the AVX2 cap and right (or not reached) at the other, and the
    ledger that both runs and the merge updated holds one entry."""
    ledger = str(tmp_path / "findings.json")
    # dev profile: draws differ between runs, but the failures come from the pinned conv2d examples, which
    # every run checks first, so the same failing examples are reached at both caps
    select = ["--profile", "dev", "--target", "isa_fault", "-k", "test_forward_exact and float64", "--ledger", ledger]
    capped = conv_oracle(tmp_path, "run", "--out", "capped", *select, cap="AVX2")
    assert capped.returncode == 1, capped.stdout[-3000:] + capped.stderr
    plain = conv_oracle(tmp_path, "run", "--out", "plain", *select)
    assert plain.returncode == 0, plain.stdout[-3000:] + plain.stderr
    merged = conv_oracle(tmp_path, "merge", "capped/latest", "plain/latest", "--out", "merged", "--ledger", ledger)
    assert merged.returncode == 1, merged.stdout[-3000:] + merged.stderr
    wrong, right = "isa_fault on cap=AVX2", "isa_fault on cap=ALL"
    summary = json.loads((tmp_path / "merged" / "summary.json").read_text())
    entries = summary["where"]["examples"]
    assert entries and all(e["wrong_at"] == [wrong] and not e["deviation_at"] for e in entries)
    assert all(e["right_at"] == [right] or e["not_reached"] == [right] for e in entries)
    assert any(e["right_at"] == [right] for e in entries)  # the same example, drawn at both caps
    assert f"wrong at {wrong}; right at {right}" in (tmp_path / "merged" / "summary.md").read_text()
    assert f"wrong at {wrong}; right at {right}" in merged.stdout
    (f,) = json.loads(open(ledger).read())["findings"]
    assert f["state"] == "still failing" and f["targets"] == ["isa_fault"] and len(f["machines"]) == 1
    assert "cap=AVX2" in f["machines"][0] and "isa_fault.conv2d(" in f["snippet"]
    (fail,) = summary["failures"]
    assert fail["target"] == wrong and f["describe"] == fail["describe"]
