"""Aggregation of records into the summary (conv_oracle.report.summary)."""

import json

import pytest

from conv_oracle.definition.historical import SEED_6X6
from conv_oracle.report import summary as S

from records_kit import DENSE_CONV, GAPPY_CONV


def _row(cov, key, value):
    param = next(p for p in cov["parameters"] if p["key"] == key)
    row = next(r for r in param["rows"] if r["value"] == value)
    return {(c["op"], c["target"]): cell for c, cell in zip(cov["columns"], row["cells"])}


def test_totals_count_examples_and_verdicts_per_target(sample_records):
    tot = S.totals(sample_records, ["torch", "planted"])
    # records after a test's first failure are Hypothesis shrinking it: counted apart
    drawn = tot["all"].pop("drawn")
    assert tot["all"] == {"examples": 8, "passed": 5, "failed": 3, "shrinking": 1, "shrinking_failed": 1,
                         "deviations": 0, "not_checkable": 0}
    assert drawn == {"examples": 7, "passed": 5, "failed": 2, "deviations": 0, "not_checkable": 0}
    assert tot["targets"]["torch"].pop("drawn") == {"examples": 4, "passed": 4, "failed": 0, "deviations": 0,
                                                    "not_checkable": 0}
    assert tot["targets"]["torch"] == {"examples": 4, "passed": 4, "failed": 0, "shrinking": 0, "shrinking_failed": 0,
                                         "deviations": 0, "not_checkable": 0}
    tot["targets"]["planted"].pop("drawn")
    assert tot["targets"]["planted"] == {"examples": 4, "passed": 1, "failed": 3, "shrinking": 1,
                                         "shrinking_failed": 1, "deviations": 0, "not_checkable": 0}


def test_the_headline_adds_up_when_shrinking_attempts_pass():
    """Interrupted or shrinking runs: passes made while shrinking are not among the examples drawn."""
    from conv_oracle.report.markdown import headline
    recs = ([{"test": "t", "target": "a", "verdict": "pass"}] * 3 + [{"test": "t", "target": "a", "verdict": "fail"}]
            + [{"test": "t", "target": "a", "verdict": "pass"}] * 5 + [{"test": "u", "target": "a", "verdict": "deviation"},
                                                                         {"test": "u", "target": "a", "verdict": "not checkable"}])
    a = S.totals(recs, ["a"])["all"]
    assert headline(a) == ("6 examples, 3 passed, 1 failed, 1 known deviations, 1 not checkable (refused) "
                           "(+ 5 shrinking attempts, 0 failing)")


def test_targets_keep_declared_order_then_append_unknown(sample_records):
    assert S.targets_of(sample_records, ["planted"]) == ["planted", "torch"]
    assert S.targets_of(sample_records) == ["torch", "planted"]


def test_per_property_tallies(sample_records):
    rows = {p["property"]: p["targets"] for p in S.by_property(sample_records, ["torch", "planted"])}
    assert rows["forward_exact"]["planted"] == {"examples": 3, "passed": 1, "failed": 2, "deviations": 0, "not_checkable": 0}
    assert rows["dims_batch"]["planted"]["failed"] == 1
    assert rows["error_parity"]["torch"] == {"examples": 1, "passed": 1, "failed": 0, "deviations": 0, "not_checkable": 0}


def test_coverage_matrix_counts_pass_fail_per_op_and_target(sample_records):
    cov = S.coverage_matrix(sample_records, ["torch", "planted"])
    assert cov["examples"] == 7  # the error-parity example is not a valid configuration
    strides = _row(cov, "stride_vs_kernel", ">")
    assert strides[("conv_transpose", "torch")] == {"examples": 1, "failed": 0, "applicable": True}
    assert strides[("conv", "torch")]["examples"] == 1  # GAPPY_CONV: stride 3 > kernel 2
    assert strides[("conv", "planted")] == {"examples": 2, "failed": 2, "applicable": True}
    dims = _row(cov, "dims", "1d")
    assert dims[("conv", "torch")]["examples"] == 1 and dims[("conv", "planted")]["failed"] == 1
    assert _row(cov, "dtype", "float64")[("conv", "torch")]["examples"] == 1
    assert _row(cov, "x_layout", "sliced")[("conv", "torch")]["examples"] == 1


def test_coverage_matrix_shows_gaps_and_not_applicable_cells(sample_records):
    cov = S.coverage_matrix(sample_records, ["torch", "planted"])
    three_d = _row(cov, "dims", "3d")
    assert all(c["examples"] == 0 and c["applicable"] for c in three_d.values())
    assert any(g.startswith("dims = 3d (") and "conv/torch" in g for g in cov["gaps"])
    same = _row(cov, "padding", "same")
    assert same[("conv_transpose", "torch")]["applicable"] is False
    assert same[("conv", "torch")]["applicable"] is True
    assert all(not c["applicable"] for k, c in _row(cov, "output_padding", "none").items() if k[0] == "conv")
    gaps = " ".join(cov["gaps"])
    assert "padding kind = same (conv/torch, conv/planted)" in gaps and "conv_transpose/torch" not in \
        next(g for g in cov["gaps"] if g.startswith("padding kind = same"))


def test_unexpected_values_are_listed_not_dropped(make_record):
    rec = make_record(SEED_6X6, dtype="float8")
    cov = S.coverage_matrix([rec], ["torch"])
    assert _row(cov, "dtype", "float8")[("conv_transpose", "torch")]["examples"] == 1


def test_distinct_values_per_parameter(sample_records):
    rows = {r["parameter"]: r["values"] for r in S.distinct_values(sample_records)}
    assert rows["stride"]["conv"] == ["1", "3"]  # stride 0 (an invalid call) is not listed
    assert rows["stride"]["conv_transpose"] == ["4"]
    assert rows["input_size"]["conv"] == ["5", "7"]
    assert rows["batch"]["conv"] == ["1", "none"]
    assert rows["dtype"]["conv"] == ["float32", "float64"]


def test_skip_statistics_per_regime(sample_records):
    stats = S.skip_statistics(sample_records)
    conv = stats["conv"]
    # conv examples with a prediction: GAPPY (33 of 49 skipped) x2, DENSE (none) x2, 5x5 k2 s3 (9 of 25)
    assert conv["all"]["examples"] == 5 and conv["all"]["with_untouched"] == 3
    assert conv["all"]["max_fraction"] == pytest.approx(33 / 49, abs=1e-4)
    assert conv["all"]["mean_fraction"] == pytest.approx((2 * 33 / 49 + 9 / 25) / 5, abs=1e-4)
    by_stride = {r["value"]: r for r in next(g for g in conv["groups"] if g["key"] == "stride_vs_kernel")["rows"]}
    assert by_stride[">"]["examples"] == 3 and by_stride[">"]["share"] == 1.0
    assert by_stride["<"]["examples"] == 2 and by_stride["<"]["with_untouched"] == 0
    assert conv["observed"] == {"checks": 1, "agree": 1, "disagree": 0}
    tr = stats["conv_transpose"]
    assert tr["what"] == "bias-only output cells"
    assert tr["all"]["examples"] == 2 and tr["all"]["max_fraction"] == pytest.approx(20 / 36, abs=1e-4)


def test_observed_mask_disagreeing_with_prediction_is_counted(make_record):
    import numpy as np
    wrong = np.zeros(5, bool)
    wrong[4] = True
    rec = make_record(DENSE_CONV, prop="skipped_input_pixels", observed=wrong)
    assert S.skip_statistics([rec])["conv"]["observed"] == {"checks": 1, "agree": 0, "disagree": 1}


def test_bound_usage_only_float_mode(sample_records):
    rows = S.bound_usage(sample_records)
    assert rows == [{"target": "torch", "dtype": "float64", "examples": 1, "median": 0.25, "p95": 0.25, "max": 0.25}]


def test_error_rules_by_rule_op_and_target(sample_records):
    rows = S.error_rules(sample_records, ["torch", "planted"])
    assert rows == [{"rule": "non-positive stride", "op": "conv",
                     "targets": {"torch": {"examples": 1, "passed": 1, "failed": 0, "deviations": 0, "not_checkable": 0},
                                 "planted": {"examples": 0, "passed": 0, "failed": 0, "deviations": 0, "not_checkable": 0}}}]


def test_failures_one_per_test_with_reported_example(sample_records):
    fails = S.failures(sample_records)
    assert len(fails) == 2
    first = next(f for f in fails if "test_forward_exact" in f["test"])
    assert first["failing_examples"] == 2 and first["reported"]
    assert first["case"]["input_size"] == [5, 5]  # the reported example, not the last-but-one
    assert first["cells"][0] == {"index": [0, 0, 1], "expected": 1.0, "got": 2.0}
    assert first["cells"][1]["got"] == "nan"
    assert "planted.conv2d" in first["snippet"]
    assert first["describe"].startswith("conv2d(input[1, 1, 5, 5]")


def test_junit_failures_without_records_are_listed(sample_records):
    junit_cases = [{"test": "conv_oracle/suite/test_forward.py::test_forward_exact[planted-float32]",
                    "outcome": "failed", "message": "m", "text": "t"},
                   {"test": "conv_oracle/suite/test_shapes.py::test_output_shape[planted]", "outcome": "error",
                    "message": "fixture exploded", "text": "Traceback ..."}]
    fails = S.failures(sample_records, junit_cases)
    assert len(fails) == 3
    assert fails[-1]["test"].endswith("test_output_shape[planted]")
    assert "fixture exploded" in fails[-1]["message"]


def test_records_without_valid_flag_are_classified_by_the_oracle(make_record):
    rec = make_record(GAPPY_CONV)
    old = {k: v for k, v in rec.items() if k not in ("valid", "predicted", "untouched")}
    assert S.is_valid(old)
    bad = dict(old, case=dict(old["case"], stride=0))
    assert not S.is_valid(bad)


def test_maps_start_with_the_seed_case_and_pick_regimes(sample_records):
    maps = S.representative_maps(sample_records)
    seed = maps[0]
    assert seed["title"].startswith("seed case")
    assert seed["counts"] == [[1, 1, 0, 0, 1, 1]] * 2 + [[0] * 6] * 2 + [[1, 1, 0, 0, 1, 1]] * 2
    assert seed["untouched"] == 20 and seed["cells"] == 36
    titles = [m["title"] for m in maps]
    assert "conv, stride > kernel" in titles
    failing = [m for m in maps if m["title"].startswith("failing:")]
    assert [m["title"] for m in failing] == [  # one per failing test, the reported example first
        "failing: conv_oracle/suite/test_forward.py::test_forward_exact[planted-float32]",
        "failing: conv_oracle/suite/test_forward.py::test_dims_and_batch[planted-1-None]"]
    assert list(failing[0]["case"]["input_size"]) == [5, 5] and failing[1]["counts"] == [[2, 3, 3, 3, 2]]


def test_summarize_is_json_ready_and_flags_failure(sample_records):
    s = S.summarize(sample_records, {"targets": ["torch"], "exit_code": 1})
    json.dumps(s, allow_nan=False)
    assert s["ok"] is False and s["meta"]["targets"] == ["torch", "planted"]
    passing = [r for r in sample_records if r["verdict"] == "pass"]
    assert S.summarize(passing, {"exit_code": 0})["ok"] is True
    assert S.summarize(passing, {"exit_code": 2})["ok"] is False


def test_layout_classes_per_op_dtype_and_backend(make_record):
    from conv_oracle.report.paths import layout_classes
    from records_kit import GAPPY_CONV
    recs = [make_record(GAPPY_CONV, x_layout="strided", w_layout="contiguous", dtype="float32"),
            make_record(GAPPY_CONV, x_layout="sliced", w_layout="sliced", dtype="float32")]
    for r, backend in zip(recs, ("Mkldnn", "Slow2d")):
        r["path"] = {"backend": backend}
    t = layout_classes(recs)
    (row,) = [r for r in t["rows"] if r["op"] == "conv" and r["dtype"] == "float32"]
    assert row["cells"] == {"contiguous": {"Mkldnn": 1}, "sliced": {"Slow2d": 1}, "strided": {"Mkldnn": 1}}
    assert "torch conv float32 channels_last" in t["gaps"] and "torch conv float32 strided" not in t["gaps"]
    assert not any(r["dtype"] == "float64" for r in t["rows"])  # an op and dtype that never ran: the backend table's gap
