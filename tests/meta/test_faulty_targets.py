"""Meta-tests: the differential suite must fail on each planted faulty target, naming the right
property and printing a reproduction snippet, and pass on a correct plugged-in target."""

import importlib.util
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.meta

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

#: faulty module -> (-k selection of suite tests, a test that must be among the failures)
FAULTS = {
    "layout_bug": ("test_layouts and float32 and (sliced or transposed)", "test_layouts"),
    "group_bug": ("test_forward_exact and float64", "test_forward_exact"),
    "precision_loss": ("test_forward_float and float32", "test_forward_float"),
    "bias_only_bug": ("test_bias_only_output_cells and float32", "test_bias_only_output_cells"),
    "accepts_invalid": ("test_error_parity and conv-conv_output", "test_error_parity"),
    # the right exception type, another rule's reason: error parity compares torch's wording
    "wrong_reason": ("test_error_parity and conv-negative_padding", "test_error_parity"),
    "wrong_gradient": ("test_gradient and float32 and exact and input", "test_gradient"),
    "nan_leak": ("test_skipped_pixels_ignore_nonfinite and float32", "test_skipped_pixels_ignore_nonfinite"),
    "dilation_shape_bug": ("test_output_shape", "test_output_shape"),
    "segfault": ("test_forward_exact and float32", "test_forward_exact"),
    "uninitialised": ("test_forward_exact and float32", "test_forward_exact"),
    "mutates_input": ("test_forward_exact and float32", "test_forward_exact"),
    # a narrower accumulator past 512 products: only the wide-reduction test reaches it
    "bf16_accumulator_above_512": ("test_forward_wide_reduction and float32", "test_forward_wide_reduction"),
    # a LookupError of the target's own is judged, not taken for 'the target lacks this function' (issue 17)
    "lookup_bug": ("test_forward_exact and float32", "test_forward_exact"),
    # narrow paths (issue 8): a fault on a few percent of one dtype's or one layout's configurations
    "narrow_bf16_transpose_gap": ("test_forward_exact and bfloat16", "test_forward_exact"),
    "narrow_nhwc_bias": ("test_layouts and channels_last and float32", "test_layouts"),
    # one 3-way cell of the features (3-D x depthwise x transposed input): the covering array reaches it every run
    "cell_fault": ("test_covering_row", "test_covering_row"),
    "renamed_cell_fault": ("test_covering_row", "test_covering_row"),
}

HAS_JAX = importlib.util.find_spec("jax") is not None
if HAS_JAX:  # a non-torch backend with autograd: JAX / XLA, transposed convolutions without their bias
    FAULTS["jax_transposed_bias_bug"] = ("test_forward_exact and float32", "test_forward_exact")


def run_suite(target: str, selection: str, *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([HERE, ROOT, os.environ.get("PYTHONPATH", "")]))
    env.pop("PYTEST_XDIST_WORKER", None)
    cmd = [sys.executable, "-m", "pytest", os.path.join(ROOT, "conv_oracle", "suite"), "-p", "no:cacheprovider",
           "-q", "--target", target, "-k", selection, "-p", "no:randomly", *extra]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def _planted(fault: str):
    selection, _ = FAULTS[fault]
    return pytest.param(fault, marks=[pytest.mark.planted(f"faulty.{fault}", selection)])


@pytest.mark.parametrize("fault", [_planted(f) for f in sorted(FAULTS)])
def test_suite_catches_fault(fault, planted_run):
    """The expected property among the target's failures, and a repro headed by the target in its
    failure report (all planted targets run in one suite process: :mod:`planted`)."""
    _, expected_test = FAULTS[fault]
    target = f"faulty.{fault}"
    failed, section = planted_run.failed(target), planted_run.section(target)
    assert planted_run.returncode == 1, f"the planted run did not fail (exit {planted_run.returncode})"
    assert failed, f"the suite did not fail on {target}:\n{planted_run.tail(target)}"
    assert any(expected_test in line for line in failed), f"expected {expected_test} to fail:\n{planted_run.tail(target)}"
    assert f"Reproduce with target {target}:" in section, f"no reproduction snippet in the failure:\n{section[-3000:]}"
    if fault == "segfault":
        assert "SIGSEGV" in section
    if fault == "mutates_input":
        assert "modified its input in place" in section
    if fault == "wrong_reason":
        assert ("rejected negative padding for another reason: its message names 'non-positive stride': "
                "RuntimeError: non-positive stride is not supported") in section, section[-3000:]
    if fault == "lookup_bug":
        assert "raised KeyError on a valid configuration" in section, section[-3000:]
    if fault == "uninitialised":  # caught whatever the allocator held: the poisons decide, not luck
        assert "differs between two identical calls: uninitialised memory" in section


HAS_ORT = all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))


@(pytest.mark.planted("faulty.ort_bias_bug", "test_forward_exact and float32") if HAS_ORT
  else pytest.mark.skip(reason="onnxruntime and onnx are not installed"))
def test_suite_catches_fault_in_onnxruntime_backed_target(planted_run):
    """A non-torch backend: the planted bias fault fails the forward test, with a snippet calling the module."""
    target = "faulty.ort_bias_bug"
    section = planted_run.section(target)
    assert any("test_forward_exact" in line for line in planted_run.failed(target)), planted_run.tail(target)
    assert "cells differ (exact mode" in section, section[-3000:]  # the planted values, not a rejection
    assert f"Reproduce with target {target}:" in section and f"{target}.conv_transpose2d(x, w, b," in section


@pytest.mark.planted("faulty.passthrough", " or ".join(f"({sel})" for sel, _ in FAULTS.values()))
def test_correct_plugged_in_target_passes(planted_run):
    """The same selections against torch.nn.functional loaded as a module path: no false alarm, and
    every selected test checked examples (records with verdicts, none failing)."""
    target = "faulty.passthrough"
    assert not planted_run.failed(target), planted_run.tail(target)
    records = [r for r in planted_run.records_of(target) if "verdict" in r]
    assert records and not [r for r in records if r["verdict"] == "fail"]
    assert {r["property"] for r in records} >= {"forward_exact", "error_parity", "gradient_input"}
