"""The comparison's precision machinery (checks/comparison.py): vacuous bounds refused, finite bounds on
bias-only cells, the precision hint, the statistical signal; and the probe operands' exactness
(checks/operands.py), checked with Python integers rather than trusted."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conv_oracle import strategies as cs
from conv_oracle.checks import comparison
from conv_oracle.checks.operands import exactness, make_probe_operands, round_to
from conv_oracle.definition.dtypes import facts, unit_roundoff
from conv_oracle.oracle.applied import oracle_forward

pytestmark = pytest.mark.oracle

F32 = (0.0, unit_roundoff("float32"), facts("float32").underflow)
BF16 = (0.0, unit_roundoff("bfloat16"), facts("bfloat16").underflow)


def test_infinite_bound_is_vacuous():
    P = np.ones((2, 3))
    assert "infinite" in comparison.vacuous_reason(P, 0.0, 256, BF16)
    assert "zero would pass" in comparison.vacuous_reason(P, 0.0, 255, BF16)  # finite, but gamma_255 = 255
    assert comparison.vacuous_reason(P, 0.0, 100, F32) is None


def test_bound_at_least_the_magnitudes_is_vacuous():
    # gamma_n(2^-8) >= 1 from n = 128: the bound covers |x|(*)|w| + |b| itself
    assert "zero would pass" in comparison.vacuous_reason(np.ones(4), 0.0, 130, BF16)
    assert comparison.vacuous_reason(np.ones(4), 0.0, 60, BF16) is None


def test_cells_without_magnitude_get_a_finite_bound():
    P = np.array([0.0, 1.0])
    bound = comparison.rounding_bound(P, 0.0, 300, BF16)  # gamma infinite: still no NaN
    assert not np.isnan(bound).any() and bound[0] == 300 * BF16[2]


@pytest.mark.parametrize("rel, fmt", [(2.0 ** -8, "bfloat16"), (2.0 ** -11, "float16 or tf32"),
                                      (2.0 ** -24, "float32")])
def test_precision_hint_names_the_format(rel, fmt):
    assert f"consistent with {fmt} " in comparison.precision_hint(rel * 10, 10.0, "float64")


def test_precision_hint_for_a_wrong_value():
    assert "wrong value" in comparison.precision_hint(5.0, 10.0, "float32")


def test_statistical_signal_flags_tf32_like_errors_but_not_float32_rounding():
    rng = np.random.default_rng(0)
    n, cells = 2000, 400
    x, w = rng.uniform(-1, 1, (cells, n)), rng.uniform(-1, 1, (cells, n))
    exact = (x * w).sum(axis=1)
    P = np.abs(x * w).sum(axis=1)
    honest = np.array([np.float32(0) + np.sum((x[i] * w[i]).astype(np.float32), dtype=np.float32) for i in range(cells)],
                      dtype=np.float64)
    assert np.all(np.abs(honest - exact) <= comparison.comparison_bound(P, 0.0, n, F32))
    assert comparison.suspicious_precision(exact, honest, P, 0.0, n, F32, "float32") is None
    tf32 = (round_to(x, "tf32") * round_to(w, "tf32")).sum(axis=1)
    signal = comparison.suspicious_precision(exact, tf32, P, 0.0, n, F32, "float32")
    assert signal["signal"] == "suspicious precision" and signal["false_alarm"] == comparison.FALSE_ALARM
    g, lam = comparison.probabilistic_gamma(n, F32[1], cells)
    assert g < comparison.gamma(n, F32[1]) and 2 * n * cells * math.exp(-lam ** 2 * (1 - F32[1]) ** 2 / 2) <= 1.0001e-6


@settings(max_examples=40)
@given(cs.cases(padding_modes=False, output_size=False), st.integers(0, 2 ** 32 - 1),
       st.sampled_from(["float64", "float32", "float16"]))
def test_probe_operands_are_exact_and_need_more_bits(case, seed, dtype):
    """Every cell: sum |x||w| + |b| < 2^p in Python integers (so every partial sum in every order is
    exact in the claimed dtype), and rounding the operands to the probed format changes the result."""
    policy = exactness(case, dtype)
    ops = make_probe_operands(case, policy.claimed, policy.probe, seed) if policy.probe else None
    if ops is None:
        return
    for a in (ops.x, ops.w) + (() if ops.b is None else (ops.b,)):
        assert np.array_equal(a, np.round(a))
    mags = oracle_forward(case, np.abs(ops.x), np.abs(ops.w), None)
    bias = 0 if ops.b is None else np.abs(ops.b).reshape((-1,) + (1,) * case.nd)
    total = (mags + bias).astype(np.int64).astype(object)
    assert all(v < facts(policy.claimed).exact_integer_limit for v in total.ravel())
    wide = ops.x if ops.wide == "input" else ops.w
    assert np.any(np.abs(wide) > 2 ** facts(policy.probe).mantissa_bits)
    assert not np.array_equal(oracle_forward(case, round_to(ops.x, policy.probe), round_to(ops.w, policy.probe), ops.b),
                              oracle_forward(case, ops.x, ops.w, ops.b))
