"""The comparison itself, value by value: the rounding bound's formula, the refusal when it is vacuous,
the statistical signal, the precision hint, and what assert_exact / assert_within accept, reject and
report (cells, kind, order). Written against surviving mutants of conv_oracle/checks/comparison.py
(docs/mutation-testing.md)."""

import math

import numpy as np
import pytest

from conv_oracle.checks import comparison as C
from conv_oracle.checks.failure_kinds import FailureKind
from conv_oracle.definition.case import Case
from conv_oracle.definition.dtypes import facts, unit_roundoff

pytestmark = pytest.mark.oracle

BF16 = (unit_roundoff("bfloat16"), unit_roundoff("bfloat16"), facts("bfloat16").underflow)
F32 = (0.0, unit_roundoff("float32"), facts("float32").underflow)
#: conv2d 7x7, kernel 2, stride 3: output (1, 1, 2, 2)
CASE = Case("conv", 2, 1, 1, 1, 1, (7, 7), (2, 2), stride=3)


def ctx(**kw):
    return C.CheckContext(CASE, "t", "float32", "float", np.zeros(CASE.input_shape), np.zeros(CASE.weight_shape),
                          None, **kw)


def test_gamma_is_nu_over_one_minus_nu_and_infinite_from_nu_1():
    assert C.gamma(3, 0.125) == 0.375 / 0.625
    assert C.gamma(0, 0.5) == 0.0
    assert C.gamma(2, 0.5) == math.inf  # n u == 1
    assert C.gamma(3, 0.5) == math.inf


def test_rounding_bound_is_the_documented_formula():
    u_in, u_acc, eta = 2.0 ** -8, 2.0 ** -10, 2.0 ** -30
    P, b, n = np.array([1.0, 3.0, 0.5]), np.array([0.25, 0.0, 2.0]), 5
    g = n * u_acc / (1 - n * u_acc)
    want = (2 * u_in + u_in ** 2) * P + g * (1 + u_in) ** 2 * (P + b) + n * eta
    np.testing.assert_allclose(C.rounding_bound(P, b, n, (u_in, u_acc, eta)), want, rtol=1e-15, atol=0)


def test_a_cell_with_only_bias_is_bounded_by_the_accumulation_term():
    u_acc, eta = 2.0 ** -10, 2.0 ** -30
    bound = C.rounding_bound(np.array([0.0]), 4.0, 3, (2.0 ** -8, u_acc, eta))
    assert bound[0] == pytest.approx(C.gamma(3, u_acc) * (1 + 2.0 ** -8) ** 2 * 4.0 + 3 * eta, rel=1e-15)


def test_zero_magnitude_cells_get_n_eta_even_when_gamma_is_infinite():
    bound = C.rounding_bound(np.array([0.0, 0.0]), 0.0, 300, BF16)
    assert bound.tolist() == [300 * BF16[2]] * 2


def test_comparison_bound_adds_the_oracle_s_own_float64_bound():
    P, b, n = np.array([2.0, 7.0]), 0.5, 9
    target = C.rounding_bound(P, b, n, F32)
    u = 2.0 ** -53
    oracle = C.gamma(n, u) * (P + b) + n * 2.0 ** -1074
    np.testing.assert_allclose(C.comparison_bound(P, b, n, F32), target + oracle, rtol=1e-15, atol=0)
    assert C.ORACLE_PRECISION == (0.0, 2.0 ** -53, 2.0 ** -1074) and C.ORACLE_PRECISION[2] > 0
    # for a float64 target both halves are the same bound
    np.testing.assert_array_equal(C.comparison_bound(P, b, n, C.ORACLE_PRECISION),
                                  2 * C.rounding_bound(P, b, n, C.ORACLE_PRECISION))


def test_vacuous_when_the_bound_reaches_the_magnitudes_exactly():
    P = np.array([[1.0, 2.0], [4.0, 8.0]])
    bound = np.array([[0.5, 1.0], [4.0, 1.0]])  # equal to the magnitudes at (1, 0)
    reason = C.vacuous_reason(P, 0.0, 10, F32, bound=bound)
    assert reason is not None and "at (1, 0)" in reason and "4.000e+00" in reason and "(10 terms)" in reason
    assert C.vacuous_reason(P, 0.0, 10, F32, bound=np.nextafter(P, 0)) is None


def test_vacuous_reason_names_the_first_covering_cell_and_counts_the_bias():
    P = np.array([0.0, 1.0, 1.0])
    bound = np.array([2.0, 2.0, 3.0])
    assert "at (1,)" in C.vacuous_reason(P, 0.0, 4, F32, bound=bound)  # the zero cell covers nothing
    assert C.vacuous_reason(P, 2.5, 4, F32, bound=bound) is None  # |b| raises every magnitude above the bound
    assert C.vacuous_reason(np.zeros(3), 0.0, 4, F32, bound=np.ones(3)) is None  # no magnitude: 0 is right


def test_infinite_bound_message_and_threshold():
    assert "n*u = 256*2^-8 >= 1" in C.vacuous_reason(np.ones(2), 0.0, 256, BF16)
    assert "infinite" not in (C.vacuous_reason(np.ones(2), 0.0, 255, BF16) or "")


def test_vacuous_reason_computes_the_comparison_bound_by_default():
    P = np.ones(3)
    for n in (60, 120, 127, 128, 130):
        covering = bool(np.any(C.comparison_bound(P, 0.0, n, F32[:1] + BF16[1:]) >= P))
        assert (C.vacuous_reason(P, 0.0, n, F32[:1] + BF16[1:]) is not None) == covering
    assert C.vacuous_reason(P, 0.0, 127, F32[:1] + BF16[1:]) is None
    assert C.vacuous_reason(P, 0.0, 128, F32[:1] + BF16[1:]) is not None


def test_probabilistic_gamma_is_the_theorem_s_formula():
    n, u, cells, alpha = 400, 2.0 ** -24, 30, 1e-6
    g, lam = C.probabilistic_gamma(n, u, cells, alpha)
    want_lam = math.sqrt(2 * math.log(2 * n * cells / alpha)) / (1 - u)
    assert lam == pytest.approx(want_lam, rel=1e-15)
    assert g == pytest.approx(math.exp(want_lam * math.sqrt(n) * u + n * u * u / (1 - u)) - 1, rel=1e-12)
    assert C.probabilistic_gamma(0, u, 0, alpha)[1] == pytest.approx(math.sqrt(2 * math.log(2 / alpha)) / (1 - u))


def _signal_inputs(scale):
    n, cells = 1000, 50
    P = np.full(cells, float(n))
    expected = np.zeros(cells)
    got = expected.copy()
    got[7] = scale * n  # one cell off by `scale` relative
    got[3] = 0.5 * scale * n
    return expected, got, P, n


def test_suspicious_precision_reports_the_worst_cell_and_its_share():
    expected, got, P, n = _signal_inputs(2.0 ** -11)
    s = C.suspicious_precision(expected, got, P, 0.0, n, F32, "float32")
    g, lam = C.probabilistic_gamma(n, F32[1], expected.size)
    bound = g * P[0] + n * F32[2] + C.rounding_bound(P, 0.0, n, C.ORACLE_PRECISION)[0]
    assert s["cell"] == [7] and s["cells_over"] == 2 and s["lambda"] == round(lam, 3)
    assert s["share"] == pytest.approx(got[7] / bound, rel=1e-12)
    assert "consistent with float16 or tf32" in s["hint"]
    # an error within the probabilistic bound raises nothing
    quiet = expected.copy()
    quiet[7] = 0.5 * g * P[0]
    assert C.suspicious_precision(expected, quiet, P, 0.0, n, F32, "float32") is None


def test_suspicious_precision_counts_operand_rounding_and_bias():
    expected, got, P, n = _signal_inputs(2.0 ** -11)
    prec = (2.0 ** -12, F32[1], F32[2])  # operand rounding alone allows 2 u_in P: more than the errors
    assert C.suspicious_precision(expected, got, P, 0.0, n, prec, "float32") is None
    assert C.suspicious_precision(expected, got, P, 0.0, n, F32, "float32") is not None
    big_bias = np.full(P.shape, 1e3 * n)
    assert C.suspicious_precision(expected, got, P, big_bias, n, F32, "float32") is None


def test_no_signal_when_the_probabilistic_bound_is_no_tighter():
    # n u large: gamma~ >= gamma, the statistical model adds nothing
    expected, got = np.zeros(4), np.full(4, 1.0)
    assert C.suspicious_precision(expected, got, np.ones(4), 0.0, 2, (0.0, 0.25, 0.0), "float32") is None


def test_precision_hint_text():
    h = C.precision_hint(2.0 ** -11 * 8, 8.0, "float32")
    assert h.startswith("about 2^-11.0 relative (8.19e+03 u of float32)")
    assert C.precision_hint(0.0, 8.0, "float32") == "|diff| 0.000e+00 at magnitude 8.000e+00"
    assert C.precision_hint(1.0, 0.0, "float32") == "|diff| 1.000e+00 at magnitude 0.000e+00"
    assert C.precision_hint(float("nan"), 8.0, "float32").startswith("|diff| nan")
    assert C.precision_hint(float("inf"), 8.0, "float32").startswith("|diff| inf")


def test_precision_hint_wrong_value_threshold_is_2_to_minus_4():
    assert "wrong value" in C.precision_hint(2.0 ** -4 * 1.01, 1.0, "float32")
    assert "wrong value" not in C.precision_hint(2.0 ** -4, 1.0, "float32")
    assert "consistent with bfloat16" in C.precision_hint(2.0 ** -4, 1.0, "float32")


def test_precision_hint_for_the_narrowest_dtype_names_no_narrower_format():
    assert C.precision_hint(2.0 ** -6, 1.0, "bfloat16") == "about 2^-6.0 relative (4 u of bfloat16)"


def test_precision_hint_names_every_format_at_the_nearest_roundoff():
    assert "consistent with float16 or tf32 operands" in C.precision_hint(2.0 ** -11, 1.0, "float64")
    assert "consistent with float32 operands" in C.precision_hint(2.0 ** -20, 1.0, "float64")
    assert "consistent with float16 or tf32 operands" in C.precision_hint(2.0 ** -12, 1.0, "float32")


def test_failure_details_carry_cells_kind_and_message():
    exc = ctx().failure("planted", (0, 0, 1, 0), 1.0, 3.0)
    d = exc.details
    assert d["cells"] == [{"index": [0, 0, 1, 0], "expected": 1.0, "got": 3.0}]
    assert d["kind"] == "wrong_value" and d["message"] == "planted" and d["what"] == "output"
    assert d["path"] is None and d["header"] in str(exc) and "planted" in str(exc)
    assert ctx().failure("x", (0, 0, 0, 0), 0.0, np.nan).details["kind"] == "nonfinite"
    assert ctx().failure("x", kind=FailureKind.HANG).details["kind"] == "hang"
    assert ctx().failure("x").details["cells"] == [] and ctx().failure("x").details["kind"] == "wrong_value"
    many = ctx().failure("x", (0, 0, 0, 0), 1.0, 2.0, cells=[((0, 0, 1, 1), 0.0, np.inf)])
    assert many.details["cells"] == [{"index": [0, 0, 1, 1], "expected": 0.0, "got": "inf"}]


def test_failure_text_names_the_contributing_taps_of_the_cell():
    text = str(ctx().failure("x", (0, 0, 1, 1), 0.0, 1.0))
    assert "contributing taps (spatial): tap (0, 0) <- input (3, 3)" in text
    assert "contributing taps" not in str(ctx().failure("x"))
    assert "contributing taps" not in str(ctx(what="grad_weight").failure("x", (0, 0, 0, 0), 0.0, 1.0))


def test_failure_lists_at_most_six_taps():
    case = Case("conv", 1, 1, 1, 1, 1, (9,), (7,))
    c = C.CheckContext(case, "t", "float32", "float", np.zeros(case.input_shape), np.zeros(case.weight_shape), None)
    text = c.taps_for((0, 0, 0))
    assert text.count("<- input") == 6 and "... (7 in all)" in text
    case6 = Case("conv", 1, 1, 1, 1, 1, (9,), (6,))
    c6 = C.CheckContext(case6, "t", "float32", "float", np.zeros(case6.input_shape), np.zeros(case6.weight_shape),
                        None)
    assert c6.taps_for((0, 0, 0)).count("<- input") == 6 and "in all" not in c6.taps_for((0, 0, 0))


def test_scalar_for_json():
    assert C._scalar(None) is None
    assert C._scalar(np.float32(1.5)) == 1.5 and isinstance(C._scalar(np.float32(1.5)), float)
    assert C._scalar(np.nan) == "nan" and C._scalar(-np.inf) == "-inf"


def test_wrong_shape_is_its_own_kind():
    with pytest.raises(AssertionError) as info:
        C.assert_exact(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 3)), ctx())
    assert info.value.details["kind"] == "wrong_shape" and "shape (1, 1, 2, 3)" in info.value.details["message"]
    with pytest.raises(AssertionError) as info:
        C.assert_within(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2)), np.ones((1, 1, 2, 2)), ctx())
    assert info.value.details["kind"] == "wrong_shape"


def test_exact_accepts_equal_and_nan_where_nan_is_due():
    e = np.array([[[[1.0, np.nan], [np.inf, -2.0]]]])
    C.assert_exact(e, e.copy(), ctx())
    with pytest.raises(AssertionError):
        C.assert_exact(e, np.where(np.isnan(e), 0.0, e), ctx())  # a number where NaN is due


def test_exact_reports_count_first_cell_explanation_and_at_most_8_cells():
    e = np.zeros((1, 1, 4, 4))
    g = e.copy()
    g[0, 0, 1:, :] = 1.0  # 12 cells differ, the first at (0, 0, 1, 0)
    with pytest.raises(AssertionError) as info:
        C.assert_exact(e, g, ctx(), explain=lambda got: f"sum {got.sum():g}")
    d = info.value.details
    assert d["message"].startswith("12 of 16 cells differ (exact mode: must be bit for bit); first at (0, 0, 1, 0): "
                                   "expected 0.0, got 1.0; sum 12")
    assert [c["index"] for c in d["cells"]] == [[0, 0, 1, j] for j in range(4)] + [[0, 0, 2, j] for j in range(4)]
    with pytest.raises(AssertionError) as info:
        C.assert_exact(e, g, ctx())
    assert info.value.details["message"].endswith("got 1.0")


def test_within_accepts_errors_up_to_the_bound_and_returns_the_share():
    e = np.array([1.0, 2.0, 3.0, 4.0])
    bound = np.array([0.5, 0.25, 0.0, 1.0])
    got = e + np.array([0.5, -0.125, 0.0, 0.25])  # exactly at the bound in cell 0
    assert C.assert_within(e, got, bound, ctx()) == 1.0
    assert C.assert_within(e, e + np.array([0.25, 0, 0, 0]), bound, ctx()) == 0.5
    assert C.assert_within(e, e, bound, ctx()) == 0.0
    assert C.assert_within(np.zeros(0), np.zeros(0), np.zeros(0), ctx()) == 0.0


def test_within_rejects_nan_and_any_error_where_the_bound_is_zero():
    e = np.array([1.0, 2.0])
    with pytest.raises(AssertionError) as info:
        C.assert_within(e, np.array([1.0, np.nan]), np.ones(2), ctx())
    assert info.value.details["kind"] == "nonfinite" and info.value.details["cells"][0]["index"] == [1]
    with pytest.raises(AssertionError) as info:
        C.assert_within(e, np.array([1.0, 2.0 + 2.0 ** -40]), np.array([1.0, 0.0]), ctx())
    assert "(infx)" in info.value.details["message"]


def test_within_lists_the_worst_cells_first():
    e = np.zeros(12)
    bound = np.ones(12)
    got = np.array([2.0, 0.5, 5.0, 3.0, 0.0, 4.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0])
    with pytest.raises(AssertionError) as info:
        C.assert_within(e, got, bound, ctx(), magnitude=np.full(12, 100.0))
    d = info.value.details
    assert [c["index"][0] for c in d["cells"]] == [11, 10, 9, 8, 7, 6, 2, 5]
    assert d["message"].startswith("10 of 12 cells exceed the rounding bound; worst at (11,): expected 0.0, got 11.0, "
                                   "|diff| 1.100e+01 > bound 1.000e+00 (11.0x); error about 2^-3.2 relative")
    assert d["message"].endswith("a wrong value")
    with pytest.raises(AssertionError) as info:
        C.assert_within(e, got, bound, ctx())
    assert info.value.details["message"].endswith("(11.0x)")


def test_within_ranks_a_zero_bound_cell_as_the_worst():
    e = np.zeros(3)
    with pytest.raises(AssertionError) as info:
        C.assert_within(e, np.array([5.0, 1.0, 9.0]), np.array([1.0, 0.0, 1.0]), ctx())
    assert [c["index"][0] for c in info.value.details["cells"]] == [1, 2, 0]


def test_probabilistic_gamma_second_order_term_for_a_wide_roundoff():
    n, u, cells, alpha = 100, 2.0 ** -8, 4, 1e-6
    g, lam = C.probabilistic_gamma(n, u, cells, alpha)
    assert g == pytest.approx(math.expm1(lam * math.sqrt(n) * u + n * u * u / (1 - u)), rel=1e-13)
    assert g != pytest.approx(math.expm1(lam * math.sqrt(n) * u + n * u * u / (1 + u)), rel=1e-7)


def test_suspicious_precision_scales_the_accumulation_by_operand_rounding():
    expected, got, P, n = _signal_inputs(2.0 ** -11)
    u_in = 2.0 ** -16
    prec = (u_in, F32[1], F32[2])
    s = C.suspicious_precision(expected, got, P, 0.0, n, prec, "float32")
    g, _ = C.probabilistic_gamma(n, F32[1], expected.size)
    bound = ((2 * u_in + u_in ** 2) * P[0] + g * (1 + u_in) ** 2 * P[0] + n * F32[2]
             + C.rounding_bound(P, 0.0, n, C.ORACLE_PRECISION)[0])
    assert s["share"] == pytest.approx(got[7] / bound, rel=1e-12)


def test_vacuous_reason_adds_the_bias_to_the_magnitudes():
    assert C.vacuous_reason(np.array([3.0]), 1.0, 4, F32, bound=np.array([2.5])) is None  # 4 > 2.5
    assert "at (0,)" in C.vacuous_reason(np.array([0.0]), 1.0, 4, F32, bound=np.array([1.0]))  # a bias-only cell


def test_precision_hint_at_a_nan_magnitude_gives_the_plain_numbers():
    assert C.precision_hint(1.0, float("nan"), "float32") == "|diff| 1.000e+00 at magnitude nan"


def test_precision_hint_never_names_the_dtype_itself():
    assert "consistent with float16 or tf32" in C.precision_hint(2.0 ** -23, 1.0, "float32")


def test_the_bound_is_infinite_above_n_u_1_too():
    assert "n*u = 300*2^-8 >= 1: the rounding bound is infinite" == C.vacuous_reason(np.ones(2), 0.0, 300, BF16)


def test_precision_hint_never_names_a_wider_format():
    assert "float64" not in C.precision_hint(2.0 ** -50, 1.0, "float32")
    assert "float32" not in C.precision_hint(2.0 ** -23, 1.0, "float16")


def test_a_zero_bound_raises_no_numpy_warning():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AssertionError) as info:
            C.assert_within(np.zeros(3), np.array([0.0, 1.0, 0.0]), np.array([1.0, 0.0, 0.0]), ctx())
    assert info.value.details["cells"][0]["index"] == [1]


def test_within_message_gives_the_error_as_a_multiple_of_the_bound():
    with pytest.raises(AssertionError) as info:
        C.assert_within(np.zeros(2), np.array([6.0, 0.0]), np.array([2.0, 2.0]), ctx())
    assert "|diff| 6.000e+00 > bound 2.000e+00 (3.0x)" in info.value.details["message"]


def test_within_ranks_a_nan_bound_cell_first_like_a_zero_bound():
    with pytest.raises(AssertionError) as info:
        C.assert_within(np.zeros(2), np.array([5.0, 2.0]), np.array([1.0, np.nan]), ctx())
    assert [c["index"][0] for c in info.value.details["cells"]] == [1, 0]


def test_exact_rejects_a_smaller_value_too():
    with pytest.raises(AssertionError) as info:
        C.assert_exact(np.array([1.0, 2.0]), np.array([1.0, 1.5]), ctx())
    assert info.value.details["cells"] == [{"index": [1], "expected": 2.0, "got": 1.5}]


def test_within_ranks_by_the_share_of_the_bound_not_the_error():
    with pytest.raises(AssertionError) as info:
        C.assert_within(np.zeros(2), np.array([5.0, 3.0]), np.array([4.0, 1.0]), ctx())
    assert [c["index"][0] for c in info.value.details["cells"]] == [1, 0]  # 3x before 1.25x


def test_within_a_zero_bound_met_exactly_uses_no_share():
    assert C.assert_within(np.ones(3), np.ones(3), np.zeros(3), ctx()) == 0.0


def test_within_ranks_bounds_below_1_by_their_share_too():
    with pytest.raises(AssertionError) as info:
        C.assert_within(np.zeros(2), np.array([1.0, 6.0]), np.array([0.5, 4.0]), ctx())
    assert [c["index"][0] for c in info.value.details["cells"]] == [0, 1]  # 2x before 1.5x
