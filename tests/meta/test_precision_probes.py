"""Planted narrow-precision targets must fail the precision probes (bit for bit, at 1,000+ terms per
cell), plain torch must pass the same probes, and a target returning zeros must never pass."""

import os
import re
import sys

import numpy as np
import pytest

from conv_oracle.checks import properties
from conv_oracle.checks.operands import exactness, forward_terms, make_operands, make_probe_operands
from conv_oracle.definition.case import Case
from conv_oracle.targets import load_target


pytestmark = pytest.mark.meta

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the faulty.* modules

#: planted target -> (dtype it gets wrong, the format whose rounding reproduces it bit for bit or None)
PLANTED = {
    "faulty.tf32_operands": ("float32", "tf32"),
    "faulty.bf16_operands": ("float32", "bfloat16"),
    "faulty.float64_in_float32": ("float64", None),
    "faulty.float16_via_bfloat16": ("float16", None),  # bfloat16 sums and output too: no operand format matches
}
# 1,152 and 1,200 products per output cell
WIDE = [Case("conv", 2, 2, 128, 4, 1, (5, 5), (3, 3), padding=1),
        Case("conv_transpose", 1, 2, 300, 3, 1, (6,), (4,), stride=2, padding=1)]


@pytest.mark.parametrize("case", WIDE, ids=lambda c: c.fn_name)
@pytest.mark.parametrize("planted", sorted(PLANTED))
def test_probe_catches_narrow_target(planted, case):
    dtype, fmt = PLANTED[planted]
    assert forward_terms(case) >= 1000
    target = load_target(planted)
    policy = exactness(case, dtype, target)
    for seed in (0, 1):  # wide input, then wide weight
        ops = make_probe_operands(case, policy.claimed, policy.probe, seed)
        with pytest.raises(AssertionError, match="exact mode: must be bit for bit") as failure:
            properties.forward(target, case, ops, dtype)
        if fmt is not None:
            named = re.search(r"operands rounded to ([^\n]*)", str(failure.value))
            assert named and re.search(rf"\b{fmt}\b", named.group(1)), str(failure.value)[:2000]
        else:
            assert "consistent with" in str(failure.value)
        assert properties.forward(load_target("torch"), case, ops, dtype)["bound_share"] == 0.0  # the control


def test_small_integer_exact_mode_cannot_see_operand_rounding():
    """Why probes exist: |x| <= 3 integers are exact in TF32, so the old exact mode passes this target."""
    case = WIDE[0]
    ops = make_operands(case, "exact", 0, exactness(case, "float32").magnitude)
    assert "verdict" not in properties.forward(load_target("faulty.tf32_operands"), case, ops, "float32")


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_zeros_are_refused_not_passed_when_the_bound_is_vacuous(dtype):
    """n*u >= 1 (bfloat16 at 256 terms, float16 at 2,048): the float bound is infinite. The example
    is refused and recorded as not checkable; the old check passed zeros with share 0.0."""
    case = Case("conv", 2, 1, 240, 2, 1, (4, 4), (3, 3), padding=1)  # 2,161 terms per cell
    ops = make_operands(case, "float", 3)
    result = properties.forward(load_target("faulty.zeros"), case, ops, dtype)
    assert result["verdict"] == "not checkable" and "infinite" in result["refused"]
    assert properties.forward(load_target("torch"), case, ops, dtype)["verdict"] == "not checkable"


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_zeros_fail_every_checkable_mode(dtype):
    case = Case("conv_transpose", 2, 2, 3, 2, 1, (3, 3), (2, 2), stride=2)
    zeros = load_target("faulty.zeros")
    for mode in ("exact", "float"):
        with pytest.raises(AssertionError):
            properties.forward(zeros, case, make_operands(case, mode, 5, 3), dtype)


def test_bias_only_cells_get_a_finite_bound():
    """Wide channels used to give bias-only cells inf * 0 = NaN bounds, failing plain torch."""
    case = Case("conv_transpose", 2, 1, 150, 2, 1, (2, 2), (2, 2), stride=4, bias=False)  # 600 terms
    ops = make_operands(case, "float", 1)
    for dtype in ("bfloat16", "float16"):
        result = properties.forward(load_target("torch"), case, ops, dtype)
        assert result.get("verdict") == "not checkable" or result["bound_share"] <= 1


def _through_suite(planted):
    selection = f"test_forward_precision_probe and {PLANTED[planted][0]}"
    return pytest.param(planted, marks=[pytest.mark.planted(planted, selection)])


@pytest.mark.parametrize("planted", [_through_suite(p) for p in
                                     ("faulty.tf32_operands", "faulty.float64_in_float32", "faulty.float16_via_bfloat16")])
def test_suite_probe_test_catches(planted, planted_run):
    """Through the suite (one planted target per probed dtype; bf16_operands is caught above): the
    default-run probe test fails on small cases too (the shared planted run: :mod:`planted`)."""
    failed = planted_run.failed(planted)
    assert any("test_forward_precision_probe" in line for line in failed), planted_run.tail(planted)
    assert f"Reproduce with target {planted}:" in planted_run.section(planted), planted_run.tail(planted)


def test_refused_examples_are_counted_apart_from_passes():
    from conv_oracle.report.summary import totals
    records = [{"target": "t", "verdict": "pass"}, {"target": "t", "verdict": "not checkable", "refused": "n*u >= 1"}]
    tally = totals(records, ["t"])["all"]
    assert {k: tally[k] for k in ("examples", "passed", "failed", "not_checkable")} == \
        {"examples": 2, "passed": 1, "failed": 0, "not_checkable": 1}
