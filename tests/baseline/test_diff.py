"""Comparing snapshots: each kind of change lands in its class, with the right exit status."""

import copy
import json

import pytest

from conv_oracle.baseline import diff, report
from conv_oracle.baseline.diff import Thresholds, compare


def _classes(cmp):
    return {c.cls for c in cmp.changes}


def _by_id(snap):
    return {c["id"]: c for c in snap["cases"]}


@pytest.fixture(scope="module")
def reference(planted):
    return planted("reference_functional")


def _edited(snap, fn, pick):
    """A copy of ``snap`` with ``fn(case)`` applied to the first case that ``pick`` accepts."""
    new = copy.deepcopy(snap)
    case = next(c for c in new["cases"] if pick(c))
    fn(case)
    return new, case["id"]


def _accepted_valid(c):
    return c["kind"] == "valid" and c["outcome"] == "accepted" and c["verdict"] == "pass"


def test_identical_snapshots_have_no_changes(reference):
    cmp = compare(reference, copy.deepcopy(reference))
    assert cmp.changes == [] and cmp.exit_code == 0 and cmp.compared == len(reference["cases"])


def test_planted_value_fault_is_an_exact_values_regression(reference, planted, two_d_entries):
    """conv2d off by one when stride > kernel: exactly those cases change, in 'values' (exact digests,
    and float results beyond the bound); gradients and shapes do not; exit 1."""
    cmp = compare(reference, planted("planted_stride_gap"))
    supported = {c["id"] for c in reference["cases"] if c["outcome"] == "accepted"}
    expected = {e.id for e in two_d_entries if e.kind == "valid" and e.case.op == "conv" and e.id in supported
                and any(s > k for s, k in zip(e.case.config().stride, e.case.kernel_size))}
    assert expected, "the corpus has 2-D conv cases with stride > kernel"
    assert {c.id for c in cmp.changes} == expected
    assert _classes(cmp) == {"values"}
    for c in cmp.changes:
        assert c.direction == "regression"
        if c.cls == "values":
            assert any(d.startswith("output digest") for d in c.details)
            assert not any(d.startswith("grad_") for d in c.details), c.details
    assert cmp.exit_code == 1


def test_planted_acceptance_fault_is_an_acceptance_regression(reference, planted, two_d_entries):
    cmp = compare(reference, planted("planted_accepts_groups"))
    expected = {e.id for e in two_d_entries if e.rule == "non-positive groups" and e.case.op == "conv"}
    assert {c.id for c in cmp.changes} == expected and _classes(cmp) == {"acceptance"}
    assert all(c.direction == "regression" and c.details[0].startswith("rejected (RuntimeError")
               for c in cmp.changes)
    assert cmp.exit_code == 1


def test_message_only_change_is_informational(reference, planted):
    cmp = compare(reference, planted("planted_reworded"))
    rejected = {c["id"] for c in reference["cases"] if c["outcome"] == "rejected"
                or any(d["outcome"] == "rejected" for d in (c.get("by_dtype") or {}).values())}
    assert _classes(cmp) == {"message"} and {c.id for c in cmp.changes} == rejected
    assert cmp.exit_code == 0 and not cmp.regressions()


def test_error_type_change_is_a_regression(reference):
    new, cid = _edited(reference, lambda c: c.update(error="ValueError: " + c["error"].split(": ", 1)[1]),
                       lambda c: c["outcome"] == "rejected" and c["error"].startswith("RuntimeError"))
    cmp = compare(reference, new)
    assert [(c.cls, c.id) for c in cmp.changes] == [("error_type", cid)] and cmp.exit_code == 1


def test_shape_change_is_a_regression(reference):
    new, cid = _edited(reference, lambda c: c["output_shape"].__setitem__(-1, c["output_shape"][-1] + 1),
                       _accepted_valid)
    cmp = compare(reference, new)
    assert [(c.cls, c.id) for c in cmp.changes] == [("shape", cid)] and cmp.exit_code == 1


def test_precision_drift_on_the_same_hardware_is_informational(reference):
    def worse(c):
        s = c["bound_share"]["float32"]["output"]
        c["bound_share"]["float32"]["output"] = s * 2 + 0.15

    new, cid = _edited(reference, worse, _accepted_valid)
    cmp = compare(reference, new)
    assert [(c.cls, c.id) for c in cmp.changes] == [("precision", cid)] and cmp.exit_code == 0
    assert cmp.same_hardware and not cmp.regressions()
    back = compare(new, reference)
    assert [(c.cls, c.id) for c in back.changes] == [("precision", cid)] and back.exit_code == 0


def _other_hardware(snap, factor=3.0):
    """``snap`` as recorded on another machine: another hardware class, every bound share moved."""
    new = copy.deepcopy(snap)
    new["hardware_class"] = "x86_64 avx2+fma cap=ALL aten=AVX2 cpu (another machine)"
    for c in new["cases"]:
        for shares in list((c.get("bound_share") or {}).values()) + list(
                ((c.get("threads") or {}).get("bound_share") or {}).values()):
            for k, v in shares.items():
                shares[k] = None if v is None else min(0.99, v * factor + 0.2)
    return new


def test_bound_shares_across_hardware_are_never_a_change(reference):
    """Another machine moves every share inside the bound: no change listed, a plain note, exit 0."""
    other = _other_hardware(reference)
    cmp = compare(reference, other)
    assert cmp.changes == [] and cmp.exit_code == 0 and not cmp.same_hardware
    assert cmp.moved_across_hardware > 100
    assert any(n.startswith("different hardware") and "bound shares are not compared" in n for n in cmp.notes)
    text = report.markdown(cmp, "old", "new")
    assert "Do **not** replace" not in text and "commit NEW under" in text and "Keep OLD" in text


def test_a_contract_change_across_hardware_still_fails_and_says_not_to_replace_old(reference):
    other = _other_hardware(reference)
    case = next(c for c in other["cases"] if _accepted_valid(c))
    case["coverage"]["float32"]["observed"]["count"] += 1
    cmp = compare(reference, other)
    assert [(c.cls, c.id) for c in cmp.regressions()] == [("coverage", case["id"])] and cmp.exit_code == 1
    text = report.markdown(cmp, "old", "new")
    assert "Do **not** replace OLD with NEW" in text


def test_precision_noise_within_threshold_is_not_a_change(reference):
    def slightly(c):
        for dt in c["bound_share"].values():
            for k, v in dt.items():
                dt[k] = None if v is None else min(1.0, v * 1.9)

    new, _ = _edited(reference, slightly, _accepted_valid)
    assert compare(reference, new).changes == []


@pytest.mark.parametrize("old, new, drifted", [(0.01, 0.05, False), (0.05, 0.2, True), (0.3, 0.59, False),
                                               (0.3, 0.61, True), (0.0, 0.09, False), (0.0, 0.11, True)])
def test_thresholds(old, new, drifted):
    assert Thresholds().drifted(old, new) is drifted


def test_a_property_that_now_raises_is_an_acceptance_change_led_by_its_behaviour(reference):
    """A dtype-specific RuntimeError where the property passed is an acceptance / error change (not
    precision), and the report's summary names dtype, feature and behaviour before the case list."""
    def raises(c):
        c["mismatches"]["forward_bfloat16"] = "raised RuntimeError: \"slow_conv2d_cpu\" not implemented for 'BFloat16'"
        c["bound_share"]["bfloat16"]["output"] = None

    new, cid = _edited(reference, raises, lambda c: _accepted_valid(c) and c["case"]["op"] == "conv")
    cmp = compare(reference, new)
    assert [(c.cls, c.id, c.direction) for c in cmp.changes] == [("acceptance", cid, "regression")]
    text = report.markdown(cmp, "old", "new")
    first = next(line for line in text.splitlines() if line.startswith("- **"))
    assert first.startswith("- **bfloat16 conv**: now raises RuntimeError") and "regression" in first
    assert text.index("## Behaviours that changed") < text.index("### Acceptance")
    back = compare(new, reference)
    assert [(c.cls, c.direction) for c in back.changes] == [("acceptance", "fix")]
    assert "now supported (before: RuntimeError" in report.markdown(back, "a", "b")


def test_a_float_result_beyond_the_bound_is_a_value_change(reference):
    new, cid = _edited(reference, lambda c: c["mismatches"].update(forward_float16="cells differ beyond the bound"),
                       _accepted_valid)
    cmp = compare(reference, new)
    assert [(c.cls, c.id) for c in cmp.changes] == [("values", cid)] and cmp.exit_code == 1


def test_an_ignore_file_accepts_a_change_with_its_reason(reference, tmp_path):
    from conv_oracle.baseline import ignore
    new, cid = _edited(reference, lambda c: c["mismatches"].update(coverage_bfloat16="bias-only cell (0, 1) is nan, "
                                                                   "expected exactly the bias 0 (inputs and weights "
                                                                   "hold NaN/Inf elsewhere)"), _accepted_valid)
    rules = ignore.parse(f"# accepted changes\n{cid}:coverage  # oneDNN bf16 kernel, AVX512_BF16 only\n"
                         f"values  # nothing matches this one\n")
    cmp = diff.apply_ignores(compare(reference, new), rules)
    assert [(c.cls, c.id) for c in cmp.changes] == [("ignored", cid)] and cmp.exit_code == 0
    assert "AVX512_BF16 only" in cmp.changes[0].details[0]
    assert any("matched no change" in n and "values" in n for n in cmp.notes)
    for bad, says in ((f"{cid}\n", "has no reason"), ("nonsense  # why\n", "not a change class"),
                      ("a b  # why\n", "one word")):
        with pytest.raises(ignore.IgnoreError, match=says):
            ignore.parse(bad, "team.ignore")


def test_coverage_change_is_a_regression(reference):
    def shifted(c):
        c["coverage"]["bfloat16"]["observed"]["count"] += 1

    new, cid = _edited(reference, shifted, _accepted_valid)
    cmp = compare(reference, new)
    assert [(c.cls, c.id) for c in cmp.changes] == [("coverage", cid)] and cmp.exit_code == 1


def test_changed_operands_are_not_compared_as_values(reference):
    def other_operands(c):
        c["exact"]["operands"] = "0" * 16
        c["exact"]["output"] = "1" * 16

    new, cid = _edited(reference, other_operands, _accepted_valid)
    cmp = compare(reference, new)
    assert [(c.cls, c.id) for c in cmp.changes] == [("operands", cid)] and cmp.exit_code == 0


def test_missing_and_added_cases(reference):
    new = copy.deepcopy(reference)
    gone = new["cases"].pop(0)
    cmp = compare(reference, new)
    assert [(c.cls, c.id) for c in cmp.changes] == [("missing", gone["id"])] and cmp.exit_code == 1
    back = compare(new, reference)
    assert [(c.cls, c.id) for c in back.changes] == [("added", gone["id"])] and back.exit_code == 0
    assert any("corpora differ" in n for n in cmp.notes)


def test_a_case_new_target_cannot_run_is_missing(reference):
    new, cid = _edited(reference, lambda c: c.update(outcome="unsupported", reason="no conv2d"), _accepted_valid)
    cmp = compare(reference, new)
    assert [(c.cls, c.id) for c in cmp.changes] == [("missing", cid)] and cmp.exit_code == 1


def test_fixed_mismatch_is_reported_as_a_fix(planted, reference):
    """Going from a faulty target to a correct one is still a change (exit 1), marked as a fix."""
    cmp = compare(planted("planted_stride_gap"), reference)
    assert cmp.changes and all(c.direction == "fix" for c in cmp.changes) and cmp.exit_code == 1


def test_markdown_and_json_reports(reference, planted):
    cmp = compare(reference, planted("planted_accepts_groups"))
    md = report.markdown(cmp, "old.json", "new.json")
    assert f"**Result: {len(cmp.regressions())} contract change(s) in {len(cmp.changes)} case(s)**" in md
    assert "### Acceptance / error changed" in md and "now disagrees with the oracle" in md
    assert "| acceptance / error changed | contract (regression class) | " + str(len(cmp.changes)) + " |" in md
    assert "- **float32 conv invalid call (non-positive groups)**: now accepts the invalid call — regression" in md
    data = json.loads(report.to_json(cmp, "old.json", "new.json"))
    assert data["exit_code"] == 1 and data["counts"]["acceptance"] == len(cmp.changes) and data["behaviours"]
    assert set(data["counts"]) == set(diff.CLASSES)
    clean = report.markdown(compare(reference, reference), "a", "b")
    assert "**Result: no contract change**" in clean and "### Acceptance" not in clean


def test_fingerprint_differences_are_said_plainly(reference):
    new = copy.deepcopy(reference)
    new["fingerprint"]["numpy"]["blas"] = "another-blas 1.0"
    cmp = compare(reference, new)
    assert cmp.changes == [] and cmp.same_hardware
    assert any(n.startswith("the fingerprints differ (numpy BLAS") and "another-blas 1.0" in n for n in cmp.notes)
    assert not any(n.startswith("the fingerprints differ") for n in compare(reference, reference).notes)
