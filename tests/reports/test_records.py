"""Record fields, failure details, atomic writes and merging (conv_oracle.harness.records)."""

import json
import os
import stat

import numpy as np
import pytest

from conv_oracle.definition.case import Case
from conv_oracle.definition.historical import SEED_6X6
from conv_oracle.harness import records as R

from records_kit import GAPPY_CONV, PLANTED_SNIPPET, planted_failure


def test_valid_example_records_regimes_and_predicted_mask(make_record):
    rec = make_record(GAPPY_CONV, dtype="float32")
    assert rec["valid"] is True and rec["untouched"] == "skipped_input_pixels"
    assert rec["predicted"] == {"shape": [7, 7], "count": 33, "fraction": round(33 / 49, 6),
                                "per_dim": [[2, 5, 6], [2, 5, 6]], "separable": True}
    assert rec["regimes"]["stride_vs_kernel"] == ">>" and rec["verdict"] == "pass"
    assert rec["case"]["stride"] == 3 and rec["dtype"] == "float32"


def test_transposed_example_records_bias_only_cells(make_record):
    rec = make_record(SEED_6X6)
    assert rec["untouched"] == "bias_only_output_cells"
    assert rec["predicted"]["per_dim"] == [[2, 3], [2, 3]] and rec["predicted"]["count"] == 20


def test_invalid_calls_have_no_prediction(make_record):
    bad = make_record(Case("conv", 1, None, 1, 1, 1, (5,), (3,), stride=0), prop="error_parity", rule="r")
    assert bad["valid"] is False and "predicted" not in bad
    shape_fault = make_record(GAPPY_CONV, prop="error_parity", rule="wrong bias shape")
    assert shape_fault["valid"] is False  # the case is fine, the call's shapes are not


def test_failure_keeps_message_cells_and_snippet(make_record):
    rec = make_record(GAPPY_CONV, fail=True)
    assert rec["verdict"] == "fail"
    f = rec["failure"]
    assert f["message"] == "2 of 4 cells differ <b>planted</b>"
    assert f["cells"] == [{"index": [0, 0, 1], "expected": 1.0, "got": 2.0},
                          {"index": [0, 1, 1], "expected": 3.0, "got": "nan"}]
    assert f["snippet"] == PLANTED_SNIPPET
    assert "Reproduce with target " in rec["error"]


def test_failure_without_details_is_parsed_from_the_text():
    exc = AssertionError("shape mismatch\nReproduce with target torch:\nimport torch\nprint(1)")
    f = R.failure_details(exc)
    assert f["snippet"] == "import torch\nprint(1)"
    assert f["message"] == "AssertionError: shape mismatch"


def test_real_exact_comparison_lists_differing_cells():
    from conv_oracle.checks.comparison import CheckContext, assert_exact
    ctx = CheckContext(GAPPY_CONV, "t", "float32", "exact", np.zeros(GAPPY_CONV.input_shape),
                       np.zeros(GAPPY_CONV.weight_shape), None)
    expected = np.zeros((1, 1, 2, 2))
    got = expected.copy()
    got[0, 0, 1, 0] = 5.0
    got[0, 0, 1, 1] = np.inf
    with pytest.raises(AssertionError) as info:
        assert_exact(expected, got, ctx)
    d = info.value.details
    assert d["cells"] == [{"index": [0, 0, 1, 0], "expected": 0.0, "got": 5.0},
                          {"index": [0, 0, 1, 1], "expected": 0.0, "got": "inf"}]
    assert "oracle expects', 0.0)" in d["snippet"]  # a plain literal, runnable without numpy


def test_mark_reported_flags_the_latest_failure_of_the_test():
    rec = R.Recorder()
    for case in (GAPPY_CONV, SEED_6X6):
        with pytest.raises(AssertionError):
            with rec.example("p", "t::a", "torch", case):
                raise planted_failure(case)
    with rec.example("p", "t::a", "torch", GAPPY_CONV):
        pass
    assert rec.mark_reported("t::a")
    assert [r.get("reported", False) for r in rec.records] == [False, True, False]
    assert not rec.mark_reported("t::other")


def test_control_flow_exceptions_leave_no_record():
    class Skipped(Exception):
        pass

    rec = R.Recorder()
    with pytest.raises(Skipped):
        with rec.example("p", "t::a", "torch", GAPPY_CONV):
            raise Skipped()
    assert rec.records == []


def test_atomic_write_replaces_whole_files_with_normal_permissions(tmp_path):
    path = tmp_path / "sub" / "f.txt"
    R.atomic_write(str(path), "one")
    R.atomic_write(str(path), "two")
    assert path.read_text() == "two"
    assert os.listdir(path.parent) == ["f.txt"]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_atomic_write_failure_leaves_no_temporary(tmp_path):
    with pytest.raises(TypeError):
        R.atomic_write(str(tmp_path / "f.txt"), 123)  # not text: the write fails half way
    assert os.listdir(tmp_path) == []


def test_write_and_merge_parts(tmp_path, make_record):
    a, b = R.Recorder(), R.Recorder()
    with a.example("p", "t::a", "torch", GAPPY_CONV):
        pass
    for _ in range(2):
        with b.example("p", "t::b", "torch", SEED_6X6):
            pass
    a.write(str(tmp_path), "gw0")
    b.write(str(tmp_path), "gw1")
    assert R.merge(str(tmp_path)) == 3
    assert sorted(os.listdir(tmp_path)) == ["records.jsonl"]
    recs = R.load(str(tmp_path / "records.jsonl"))
    assert [r["worker"] for r in recs] == ["gw0", "gw1", "gw1"]


def test_merge_drops_only_the_line_cut_off_mid_write(tmp_path):
    (tmp_path / "records.gw0.jsonl").write_text('{"a": 1}\n{"b": ')
    assert R.merge(str(tmp_path)) == 1
    assert R.load(str(tmp_path / "records.jsonl")) == [{"a": 1}]


def test_merge_refuses_a_corrupt_line(tmp_path):
    (tmp_path / "records.gw0.jsonl").write_text('{"a": 1}\n{"b": \n{"c": 3}\n')
    with pytest.raises(json.JSONDecodeError):
        R.merge(str(tmp_path))
    assert not (tmp_path / "records.jsonl").exists()


def test_streamed_records_reach_disk_per_example_and_merge_with_reported(tmp_path):
    rec = R.Recorder(str(tmp_path), "gw3")
    with rec.example("p", "t::a", "torch", GAPPY_CONV):
        pass
    part = tmp_path / "records.gw3.jsonl"
    lines = part.read_text().splitlines()
    assert len(lines) == 2 and "environment" in lines[0]  # on disk before the session ends, after the fingerprint
    with pytest.raises(AssertionError):
        with rec.example("p", "t::a", "torch", SEED_6X6):
            raise AssertionError("boom")
    assert rec.mark_reported("t::a")
    rec.close()
    assert R.merge(str(tmp_path)) == 2
    recs = R.load(str(tmp_path / "records.jsonl"))
    assert [r.get("reported", False) for r in recs] == [False, True]
    assert all("_seq" not in r and r["worker"] == "gw3" for r in recs)


def test_every_verdict_written_is_a_verdict_member(tmp_path):
    """The writers set members, not strings (the Recorder for pass / fail, the classification for a
    deviation, the properties' refusal for not checkable); records.jsonl reads back as their values."""
    from conv_oracle.checks.properties import _refused
    from conv_oracle.harness.records import Verdict
    recorder = R.Recorder(str(tmp_path), "main")

    def deviation(rec, failed):
        return {"verdict": Verdict.DEVIATION, "deviation": "planted"} if failed else {}
    with recorder.example("forward_exact", "t::pass", "torch", GAPPY_CONV, dtype="float32"):
        pass
    with pytest.raises(AssertionError):
        with recorder.example("forward_exact", "t::fail", "torch", GAPPY_CONV, dtype="float32"):
            raise planted_failure(GAPPY_CONV)
    with recorder.example("forward_exact", "t::dev", "torch", GAPPY_CONV, classify=deviation, dtype="float32"):
        raise planted_failure(GAPPY_CONV)
    with recorder.example("forward_float", "t::refused", "torch", GAPPY_CONV, dtype="float32") as rec:
        rec.update(_refused({}, "n*u >= 1"))
    recorder.close()
    assert [type(r["verdict"]) for r in recorder.records] == [Verdict] * 4
    assert [r["verdict"] for r in recorder.records] == list(Verdict)
    R.merge(str(tmp_path))
    written = R.load(str(tmp_path / R.RECORDS_FILE))
    assert [Verdict(r["verdict"]) for r in written] == list(Verdict)
    assert all(set(r) <= set(R.Record.__annotations__) for r in written)  # the documented fields only
