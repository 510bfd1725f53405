"""Snapshots: deterministic, holding what a comparison needs, never aborted by a failing property."""

import numpy as np
import torch.nn.functional as F

from conv_oracle.baseline import snapshot as snap_mod
from conv_oracle.baseline.diff import compare
from conv_oracle.machine import fingerprint
from conv_oracle.oracle.applied import oracle_forward
from conv_oracle.strategies import exactness, make_operands
from conv_oracle.targets import Target, load_target

ENVIRONMENT = ("torch_version", "torch_git", "torch_cuda", "build", "mkldnn_available", "mkldnn_enabled",
               "cpu_capability", "cudnn_version", "cudnn_allow_tf32", "cuda_matmul_allow_tf32", "onednn", "numpy",
               "python", "platform", "conv_oracle")


def test_snapshot_is_deterministic(torch_snapshot, torch_snapshot_again):
    """Two snapshots of the same target in the same environment record identical case results (the
    second taken by ``compare ... current``, which snapshots the target afresh)."""
    first_diff = next((a["id"] for a, b in zip(torch_snapshot["cases"], torch_snapshot_again["cases"]) if a != b),
                      None)
    assert first_diff is None, f"case {first_diff} differs between two snapshots of the same torch"
    assert torch_snapshot_again["cases"] == torch_snapshot["cases"]
    assert compare(torch_snapshot, torch_snapshot_again).changes == []


def test_snapshot_records_environment_and_summary(torch_snapshot):
    env = torch_snapshot["environment"]
    missing = [k for k in ENVIRONMENT if k not in env]
    assert not missing, f"environment lacks {missing}"
    s = torch_snapshot["summary"]
    assert s["cases"] == len(torch_snapshot["cases"]) == s["accepted"] + s["rejected"] + s["unsupported"]
    assert s["unsupported"] == 0, "the torch target runs every corpus case (nn modules included)"


def test_records_hold_shape_digests_shares_and_coverage(torch_snapshot):
    valid = [c for c in torch_snapshot["cases"] if c["kind"] == "valid"]
    assert valid and all(c["outcome"] == "accepted" for c in valid)
    for c in valid:
        assert c["output_shape"] and all(isinstance(n, int) for n in c["output_shape"])
        expected = {"dtype", "operands", "output", "grad_input", "grad_weight"}
        expected |= {"grad_bias"} if c["case"]["bias"] else set()
        assert set(c["exact"]) == expected, c["id"]
        assert set(c["bound_share"]["float32"]) == expected - {"dtype", "operands"}, c["id"]
        assert {"float64", "float16", "bfloat16"} <= set(c["bound_share"])
        transposed = c["case"]["op"] == "conv_transpose"
        spatial = c["output_shape"][-c["case"]["nd"]:] if transposed else c["case"]["input_size"]
        assert set(c["coverage"]) == {"float32", "float64", "float16", "bfloat16"}, c["id"]
        for dt, cov in c["coverage"].items():
            assert cov["property"] == ("bias_only_cells" if transposed else "skipped_pixels")
            assert cov["observed"]["shape"] == list(spatial), (c["id"], dt)
        assert c["threads"]["n"] >= 2 and set(c["threads"]["bound_share"]) == set(c["bound_share"])
    rejected = [c for c in torch_snapshot["cases"] if c["outcome"] == "rejected"]
    assert rejected and all(c["kind"] == "invalid" and c["error"].split(":")[0].endswith("Error") for c in rejected)
    assert all(set(c["by_dtype"]) == {"float64", "float16", "bfloat16"} for c in rejected)
    assert torch_snapshot["hardware_class"] == fingerprint.hardware_class(torch_snapshot["fingerprint"])


def test_the_finding_is_pinned_with_its_operands(torch_snapshot):
    """The NaN-in-output_padding finding runs with the operands that showed it, in every dtype."""
    rec = next(c for c in torch_snapshot["cases"] if c["source"] == "finding")
    assert set(rec["pinned"]) == {"float32", "float64", "float16", "bfloat16"}
    assert rec["pinned"]["float64"]["untouched_exact"] is True  # float64 does not take the oneDNN path
    for dt, got in rec["pinned"].items():  # whatever this machine's torch does, it is recorded as a verdict
        assert got["untouched_exact"] == (f"pinned_{dt}" not in rec["mismatches"]), dt


def test_exact_digest_is_the_oracle_digest_on_passing_cases(torch_snapshot, corpus_entries):
    """A passing case's output digest is the digest of the oracle's result on the same operands."""
    by_id = {e.id: e for e in corpus_entries}
    checked = 0
    for c in torch_snapshot["cases"]:
        e = by_id[c["id"]]
        if e.kind != "valid" or c["verdict"] != "pass" or "expanded" in (e.x_layout, e.w_layout):
            continue
        m = exactness(e.case, "float32", gradients=True).magnitude
        if not m:
            continue
        ops = make_operands(e.case, "exact", e.seed, m)
        expected = oracle_forward(e.case, ops.x, ops.w, ops.b)
        assert snap_mod.digest(expected) == c["exact"]["output"], c["label"]
        checked += 1
    assert checked > 100


def test_digest_sees_shape_and_value_but_not_the_sign_of_zero():
    d = snap_mod.digest
    assert d(np.zeros((2, 3))) != d(np.zeros((3, 2)))
    assert d(np.array([1.0, 2.0])) != d(np.array([1.0, 2.0 + 2**-40]))
    assert d(np.array([0.0, 1.0])) == d(np.array([-0.0, 1.0]))
    assert d(np.array([np.nan])) == d(-np.array([np.nan]))
    assert d(None) != d(np.zeros(0))


def test_a_failing_property_is_recorded_not_raised(planted):
    """The planted fault makes properties fail; the snapshot completes and records each mismatch."""
    snap = planted("planted_stride_gap")
    bad = [c for c in snap["cases"] if c["verdict"] == "mismatch" and c["kind"] == "valid"
           and c["case"]["op"] == "conv"]  # the fault is in conv2d
    assert bad, "the planted fault went unnoticed"
    for c in bad:
        assert "forward_exact" in c["mismatches"] and "cells differ" in c["mismatches"]["forward_exact"]
        assert "Reproduce" not in c["mismatches"]["forward_exact"]  # first lines only, not the snippet


def test_coverage_is_recorded_when_the_coverage_property_fails():
    """A conv_transpose2d that adds 1 everywhere has no bias-only cells: observed, recorded, flagged."""
    shifted = {"conv2d": F.conv2d, "conv_transpose2d": lambda *a, **k: F.conv_transpose2d(*a, **k) + 1}
    target = Target("shifted", shifted)
    from conv_oracle.baseline.corpus import historical
    entry = next(e for e in historical() if e.label == "seed-6x6")
    with snap_mod.single_threaded():
        rec = snap_mod.run_entry(target, entry)
    assert rec["verdict"] == "mismatch" and "coverage_float32" in rec["mismatches"]
    assert rec["coverage"]["float32"]["observed"]["count"] == 0
    good = snap_mod.run_entry(load_target("torch"), entry)
    for dt in ("float32", "float64"):
        observed = good["coverage"][dt]["observed"]
        assert observed["count"] == 20 and observed["per_dim"] == [[2, 3], [2, 3]]


def test_a_rejection_for_another_rules_reason_is_recorded_as_a_rejection():
    """Error parity fails it (wrong_error), but the call was rejected: not 'accepted', its message kept."""
    def conv2d(*args, **kwargs):
        raise RuntimeError("non-positive stride is not supported")
    from conv_oracle.baseline.corpus import invalid
    entry = next(e for e in invalid() if e.rule == "negative padding" and e.case.op == "conv" and e.case.nd == 2)
    got = snap_mod._reject(Target("reworded", {"conv2d": conv2d, "conv_transpose2d": F.conv_transpose2d}),
                           entry, "float32")
    assert got == ("rejected", "RuntimeError: non-positive stride is not supported", None)


def test_baseline_name():
    snap = {"environment": {"torch_version": "2.13.0+cpu"}, "target": {"name": "torch"}}
    assert snap_mod.baseline_name(snap) == "torch-2.13.0-cpu.json"
    snap["target"]["name"] = "torch-cuda-no-tf32"
    assert snap_mod.baseline_name(snap) == "torch-2.13.0-cuda-no-tf32.json"
