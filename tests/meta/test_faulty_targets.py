"""Meta-tests: the differential suite must fail on each planted faulty target, naming the right
property and printing a reproduction snippet, and pass on a correct plugged-in target."""

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
}


def run_suite(target: str, selection: str, *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([HERE, ROOT, os.environ.get("PYTHONPATH", "")]))
    env.pop("PYTEST_XDIST_WORKER", None)
    cmd = [sys.executable, "-m", "pytest", os.path.join(ROOT, "conv_oracle", "suite"), "-p", "no:cacheprovider",
           "-q", "--target", target, "-k", selection, "-p", "no:randomly", *extra]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_suite_catches_fault(fault):
    """Exit status 1, the expected property among the failures, and a repro headed by the target in the message."""
    selection, expected_test = FAULTS[fault]
    result = run_suite(f"faulty.{fault}", selection, "-x", "--hypothesis-profile", "meta")
    out = result.stdout + result.stderr
    assert result.returncode == 1, f"suite did not fail on faulty.{fault} (exit {result.returncode}):\n{out[-3000:]}"
    failed = [line for line in out.splitlines() if line.startswith("FAILED")]
    assert any(expected_test in line for line in failed), f"expected {expected_test} to fail:\n{out[-3000:]}"
    assert f"Reproduce with target faulty.{fault}:" in out, f"no reproduction snippet in the failure:\n{out[-3000:]}"
    if fault == "segfault":
        assert "SIGSEGV" in out
    if fault == "mutates_input":
        assert "modified its input in place" in out
    if fault == "wrong_reason":
        assert ("rejected negative padding for another reason: its message names 'non-positive stride': "
                "RuntimeError: non-positive stride is not supported") in out, out[-3000:]
    if fault == "lookup_bug":
        assert "raised KeyError on a valid configuration" in out, out[-3000:]
    if fault == "uninitialised":  # caught whatever the allocator held: the poisons decide, not luck
        assert "differs between two identical calls: uninitialised memory" in out


def test_suite_catches_fault_in_onnxruntime_backed_target():
    """A non-torch backend: the planted bias fault fails the forward test, with a snippet calling the module."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    result = run_suite("faulty.ort_bias_bug", "test_forward_exact and float32", "-x", "--hypothesis-profile", "meta")
    out = result.stdout + result.stderr
    assert result.returncode == 1, f"suite did not fail on faulty.ort_bias_bug (exit {result.returncode}):\n{out[-3000:]}"
    assert any("test_forward_exact" in line for line in out.splitlines() if line.startswith("FAILED")), out[-3000:]
    assert "cells differ (exact mode" in out, out[-3000:]  # the planted values, not a rejection
    assert "Reproduce with target faulty.ort_bias_bug:" in out and "faulty.ort_bias_bug.conv_transpose2d(x, w, b," in out


def test_correct_plugged_in_target_passes():
    """The same selections against torch.nn.functional loaded as a module path: no false alarm."""
    selection = " or ".join(f"({sel})" for sel, _ in FAULTS.values())
    result = run_suite("faulty.passthrough", selection, "--hypothesis-profile", "meta")  # derandomized: the same draw every run
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert " passed" in out and " failed" not in out
