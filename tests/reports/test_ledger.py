"""The findings ledger (conv_oracle.report.ledger) and `conv-oracle findings`: one entry per distinct
defect with a stable id, its sightings, and its state across updates."""

import json

import pytest

from conv_oracle import cli
from conv_oracle.definition.case import Case
from conv_oracle.report import ledger as L

from records_kit import GAPPY_CONV, PLANTED_SNIPPET, record

AMX = "x86_64 avx2+avx512f+amx_bf16 cap=ALL aten=AVX512 cpu"
CAPPED = "x86_64 avx2+avx512f+amx_bf16 cap=AVX2 aten=AVX2 cpu"
OTHER = Case("conv", 2, 1, 1, 1, 1, (5, 5), (2, 2), stride=3)
T1, T2, T3 = "2026-12-01T10:00:00+00:00", "2026-12-02T10:00:00+00:00", "2026-12-03T10:00:00+00:00"


def rec(fail=False, cls=AMX, torch="2.13.0", case=GAPPY_CONV, target="planted", **fields):
    r = record(case, target=target, fail=fail, dtype="float32", mode="exact", x_layout="contiguous",
               w_layout="channels_last", path={"backend": "Mkldnn"}, **fields)
    return {**r, "machine": {"class": cls, "torch": torch, "cpu": "Xeon"}}


def shrunk_failure(**kw):
    """A failing test's records: a drawn failure, then the shrunk one pytest reported."""
    test = "conv_oracle/suite/test_forward.py::test_forward_exact[planted-float32]"
    return [rec(fail=True, case=OTHER, test=test, **kw), rec(fail=True, test=test, reported=True, **kw)]


def test_one_entry_per_distinct_defect_keyed_on_the_shrunk_configuration():
    ledger = L.load("/nonexistent/findings.json")
    touched = L.update(ledger, shrunk_failure() + [rec(case=OTHER)], T1)
    (f,) = ledger["findings"]
    assert touched == [f] and f["state"] == "new"
    assert f["key"] == {"property": "forward_exact", "op": "conv", "dtype": "float32", "backend": "Mkldnn",
                        "layouts": "contiguous/channels_last", "kind": "wrong_value",
                        "configuration": json.loads(json.dumps(GAPPY_CONV.to_dict()))}
    assert f["id"] == L.defect_id(f["key"]) and len(f["id"]) == 12
    assert f["describe"] == GAPPY_CONV.describe() and f["snippet"] == PLANTED_SNIPPET
    assert f["machines"] == [AMX] and f["torch"] == ["2.13.0"] and f["targets"] == ["planted"]
    assert f["first_seen"] == f["last_seen"] == T1 and f["test"].endswith("test_forward_exact[float32]")
    # the same defect through another strided view of the weight is the same entry; another layout class is not
    view = {**shrunk_failure()[1], "w_layout": "sliced"}
    assert L.defect_key(view)["layouts"] == L.defect_key({**view, "w_layout": "expanded"})["layouts"] == "contiguous/view"
    assert L.defect_id(L.defect_key(view)) != f["id"]


def test_states_new_still_failing_gone_and_back():
    ledger = L.load("/nonexistent")
    L.update(ledger, shrunk_failure(), T1)
    (f,) = ledger["findings"]
    ident = f["id"]
    L.update(ledger, shrunk_failure(), T2)
    assert f["state"] == "still failing" and f["first_seen"] == T1 and f["last_seen"] == T2 and f["id"] == ident
    assert L.update(ledger, [rec(cls=CAPPED)], T3) == [] and f["state"] == "still failing"  # not reached on its class
    (gone,) = L.update(ledger, [rec()], T3)  # its test ran on its class and torch, and passed
    assert gone is f and f["state"] == "gone" and f["last_seen"] == T2
    L.update(ledger, shrunk_failure(), T3)
    assert f["state"] == "still failing" and len(ledger["findings"]) == 1


def test_a_finding_that_disappears_after_a_torch_upgrade_is_fixed_in_that_torch():
    ledger = L.load("/nonexistent")
    L.update(ledger, shrunk_failure(), T1)
    L.update(ledger, [rec(torch="2.15.0", cls=CAPPED)], T2)  # another class: no evidence
    assert ledger["findings"][0]["state"] == "new"
    L.update(ledger, [rec(torch="2.15.0")], T2)
    (f,) = ledger["findings"]
    assert f["state"] == "fixed" and f["fixed_in"] == "torch 2.15.0"
    assert "fixed in torch 2.15.0" in L.line(f)


def test_an_older_merge_does_not_call_a_newer_finding_gone():
    ledger = L.load("/nonexistent")
    L.update(ledger, shrunk_failure(), T2)
    L.update(ledger, [rec()], T1)
    assert ledger["findings"][0]["state"] == "new"


def test_expected_deviations_are_acknowledged_under_their_entry():
    dev = rec(fail=True)
    dev.update(verdict="deviation", deviation="onednn-something")
    small = rec(fail=True, case=OTHER)
    small.update(verdict="deviation", deviation="onednn-something")
    ledger = L.load("/nonexistent")
    L.update(ledger, [dev, small], T1)
    (f,) = ledger["findings"]  # two deviating configurations, one defect: the entry's
    assert f["state"] == "acknowledged" and f["deviation"] == "onednn-something"
    assert f["key"]["configuration"] == {"deviation": "onednn-something"} and f["describe"] == OTHER.describe()


def test_save_is_atomic_and_a_foreign_file_is_refused(tmp_path):
    path = tmp_path / "findings.json"
    ledger = L.load(str(path))
    L.update(ledger, shrunk_failure(), T1)
    L.save(str(path), ledger)
    assert L.load(str(path)) == json.loads(json.dumps(ledger)) and [p.name for p in tmp_path.iterdir()] == ["findings.json"]
    (tmp_path / "other.json").write_text('{"findings": []}')
    with pytest.raises(L.LedgerError, match="other.json: not a findings ledger"):
        L.load(str(tmp_path / "other.json"))


def test_findings_command_prints_states_and_repro_and_exits_1_on_open_findings(tmp_path, capsys):
    path = tmp_path / "findings.json"
    ledger = L.load(str(path))
    L.update(ledger, shrunk_failure(), T1)
    L.save(str(path), ledger)
    assert cli.main(["findings", "--ledger", str(path)]) == 1
    out = capsys.readouterr().out
    ident = ledger["findings"][0]["id"]
    assert out.startswith("1 finding(s): 1 new\n") and f"{ident}  new: forward_exact conv float32 on Mkldnn" in out
    assert "out = planted.conv2d(x, w, b)" in out and f"machine: {AMX}" in out
    assert cli.main(["findings", "--ledger", str(path), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["findings"][0]["id"] == ident
    L.update(ledger, [rec()], T2)
    L.save(str(path), ledger)
    assert cli.main(["findings", "--ledger", str(path), "--no-snippets"]) == 0
    assert "gone" in capsys.readouterr().out


@pytest.mark.parametrize("content, why", [(None, "no such file"), ("[1, 2]", "not a findings ledger"),
                                           ("{", "cannot read the findings ledger")])
def test_findings_command_refuses_a_missing_or_foreign_ledger_in_one_line(tmp_path, capsys, content, why):
    path = tmp_path / "findings.json"
    if content is not None:
        path.write_text(content)
    assert cli.main(["findings", "--ledger", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"conv-oracle findings: error: --ledger {path}") and why in err and err.count("\n") == 1
