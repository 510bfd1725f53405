"""Every snapshot call runs isolated, at the thread count of its pass: the N-thread pass runs at N
threads, and a target that segfaults on one case leaves a snapshot with that case's crash and every
other case."""

import pytest

from conv_oracle.baseline import snapshot as snap_mod
from conv_oracle.checks import isolation, properties
from conv_oracle.strategies import make_operands
from conv_oracle.targets import load_target

pytestmark = pytest.mark.skipif(not isolation.enabled(), reason="isolation is switched off (CONV_ORACLE_ISOLATION)")


def _valid_conv2d(entries, label):
    return next(e for e in entries if e.kind == "valid" and e.label == label)


def test_an_isolated_call_runs_at_the_callers_thread_count_or_the_targets_own(corpus_entries):
    """Asked 1 then N then 1: the worker runs each call at that count and its path says so; a target
    that pins its threads (``torch@threads=1``) keeps them whatever the caller's count."""
    entry = _valid_conv2d(corpus_entries, "#54036 1x1 kernel, stride 2, padding")
    ops = make_operands(entry.case, "float", entry.seed, 1)
    n = snap_mod.threads_n()
    seen = []
    for count in (1, n, 1):
        with snap_mod.threads(count):
            seen.append(properties.forward(load_target("torch"), entry.case, ops, "float32")["path"]["threads"])
    assert seen == [1, n, 1]
    with snap_mod.threads(n):
        pinned = properties.forward(load_target("torch@threads=1"), entry.case, ops, "float32")
    assert pinned["path"]["threads"] == 1


def test_the_n_thread_pass_runs_at_n_threads(monkeypatch, corpus_entries):
    """A snapshot's properties at N threads run at N threads in the worker: the recorded path says N."""
    entry = _valid_conv2d(corpus_entries, "#54036 1x1 kernel, stride 2, padding")
    forward = properties.forward
    seen = []

    def spy(target, case, ops, dtype, *args, **kwargs):
        import torch
        result = forward(target, case, ops, dtype, *args, **kwargs)
        seen.append((torch.get_num_threads(), result["path"]["threads"]))
        return result

    monkeypatch.setattr(snap_mod.properties, "forward", spy)
    with snap_mod.single_threaded():
        rec = snap_mod.run_entry(load_target("torch"), entry)
    n = snap_mod.threads_n()
    assert rec["verdict"] == "pass", rec["mismatches"]
    assert {asked for asked, _ in seen} == {1, n}
    assert all(ran == asked for asked, ran in seen), f"(asked, ran) per call: {seen}"


def test_a_target_that_segfaults_on_one_case_gives_a_snapshot_with_its_crash_and_every_other_case(corpus_entries):
    import planted_segfault
    shape = planted_segfault.CRASH_SHAPE
    crashing = [e for e in corpus_entries if e.kind == "valid" and e.case.fn_name == "conv2d"
                and tuple(e.case.input_shape) == shape]
    assert len(crashing) == 1
    finding = next(e for e in corpus_entries if e.operands and tuple(e.case.input_shape) == planted_segfault.FINDING_SHAPE)
    others = [e for e in corpus_entries if e.case.nd == 2 and e.kind == "valid" and e.case.fn_name == "conv2d"][:3]
    invalid = [e for e in corpus_entries if e.case.nd == 2 and e.kind == "invalid"][:2]
    entries = others + crashing + [finding] + invalid
    snap = snap_mod.snapshot(load_target("planted_segfault"), entries)
    assert [c["id"] for c in snap["cases"]] == [e.id for e in entries]
    assert snap["summary"]["cases"] == len(entries)
    by_id = {c["id"]: c for c in snap["cases"]}
    crashed = by_id[crashing[0].id]
    assert crashed["verdict"] == "mismatch" and crashed["outcome"] == "rejected"
    assert "SIGSEGV" in crashed["mismatches"]["exact"] and "SIGSEGV" in crashed["error"]
    pinned = by_id[finding.id]
    assert "SIGSEGV" in pinned["mismatches"]["pinned_float16"] and pinned["pinned"]["float16"] is None
    assert pinned["pinned"]["float32"] is not None and pinned["outcome"] == "accepted"
    for e in others + invalid:
        assert not any("SIGSEGV" in m for m in by_id[e.id]["mismatches"].values()), by_id[e.id]["mismatches"]
        assert by_id[e.id]["outcome"] in ("accepted", "rejected")


def _invalid_conv2d(entries, rule):
    return next(e for e in entries if e.kind == "invalid" and e.case.fn_name == "conv2d" and e.rule == rule)


def test_an_invalid_call_that_crashes_or_raises_an_undeclared_type_is_not_recorded_as_accepted(corpus_entries):
    """A crash on an invalid call returned nothing: outcome rejected, the crash as its error and a
    mismatch (as for valid cases); an exception type the target does not declare is a rejection too."""
    target = load_target("planted_invalid_outcomes")
    outcome, error, mismatch = snap_mod._reject(target, _invalid_conv2d(corpus_entries, "non-positive stride"), "float32")
    assert outcome == "rejected" and error.startswith("crash: ") and "SIGSEGV" in mismatch, (outcome, error, mismatch)
    outcome, error, mismatch = snap_mod._reject(target, _invalid_conv2d(corpus_entries, "negative padding"), "float32")
    assert (outcome, error, mismatch) == ("rejected", "ZeroDivisionError: planted", None)
    torch_outcome = snap_mod._reject(load_target("torch"), _invalid_conv2d(corpus_entries, "negative padding"), "float32")
    assert torch_outcome[0] == "rejected" and torch_outcome[2] is None
