"""The 3-way covering array of the discrete features and the strategy that draws inside its rows."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from conv_oracle.definition import features as F
from conv_oracle.definition.case import Case
from conv_oracle.report.summary import three_way
from conv_oracle.strategies import cases_in

ROWS = F.covering_rows()


def test_every_feasible_3_way_combination_is_in_some_row():
    """Checked by brute force over the feature triples, apart from the module's own bookkeeping."""
    for fs in itertools.combinations(F.NAMES, 3):
        for levels in itertools.product(*(F.FEATURES[f] for f in fs)):
            feasible = F.allowed(dict(zip(fs, levels)))
            found = any(all(row[f] == v for f, v in zip(fs, levels)) for row in ROWS)
            assert found == feasible, (fs, levels, feasible)


def test_rows_are_complete_allowed_and_deterministic():
    assert all(set(row) == set(F.NAMES) and F.allowed(row) for row in ROWS)
    F.covering_rows.cache_clear()
    assert F.covering_rows() == ROWS
    lower = max(len(F.FEATURES[a]) * len(F.FEATURES[b]) * len(F.FEATURES[c])
                for a, b, c in itertools.combinations(F.NAMES, 3))
    assert lower <= len(ROWS) <= 2 * lower  # no row can cover two levels of one triple


def test_the_rules_between_features():
    assert not F.allowed({"nd": 1, "x_layout": "channels_last"})
    assert not F.allowed({"padding": "same", "op": "conv_transpose"})
    assert not F.allowed({"padding": "same", "stride_gap": "some"})
    assert not F.allowed({"groups": "depthwise", "channels_per_group": "2-15"})
    assert not F.allowed({"groups": "several", "channels_per_group": "1"})
    assert not F.allowed({"x_layout": "expanded", "batch": "1"})
    assert not F.allowed({"wrt": "bias", "bias": False})
    assert F.allowed({"nd": 2, "x_layout": "channels_last", "padding": "same", "op": "conv"})


@pytest.mark.parametrize("i", range(0, len(ROWS), 7))
@settings(max_examples=15, database=None)
@given(data=st.data())
def test_cases_in_draws_inside_its_row(i, data):
    case, dtype, x_layout, w_layout = data.draw(cases_in(ROWS[i]))
    assert F.features_of(case, dtype, x_layout, w_layout, ROWS[i]["wrt"]) == ROWS[i]
    case.config()  # valid


@pytest.mark.parametrize("row, message", [
    ({}, "missing"),
    ({**ROWS[0], "nd": 4}, "wrong"),
    ({**ROWS[0], "nd": 1, "x_layout": "channels_last"}, "combination"),
])
def test_cases_in_checks_its_row_when_called(row, message):
    with pytest.raises(InvalidArgument, match=message):
        cases_in(row)


def test_features_of_hand_cases():
    depthwise = Case("conv", 2, 3, 4, 4, 4, (5, 5), (2, 2), stride=(3, 1), padding=(0, 1), dilation=(1, 2))
    assert F.features_of(depthwise, "float16", "sliced", "contiguous") == {
        "op": "conv", "nd": 2, "dtype": "float16", "batch": "2-3", "x_layout": "sliced", "w_layout": "contiguous",
        "bias": True, "groups": "depthwise", "channels_per_group": "1", "stride_gap": "some",
        "padding": "explicit", "dilation": ">1", "wrt": "none"}
    plain = Case("conv_transpose", 1, None, 20, 2, 1, (4,), (3,), bias=False)
    got = F.features_of(plain, "float32", "contiguous", "contiguous")
    assert (got["batch"], got["groups"], got["channels_per_group"], got["stride_gap"], got["padding"],
            got["dilation"]) == ("unbatched", "1", "16-32", "none", "0", "1")


def _record(target, row, case, dtype, x_layout, w_layout):
    prop = "forward_covering" if row["wrt"] == "none" else f"gradient_{row['wrt']}"
    return {"property": prop, "target": target, "op": case.op, "case": case.to_dict(), "dtype": dtype,
            "x_layout": x_layout, "w_layout": w_layout, "verdict": "pass"}


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_the_report_share_counts_what_ran():
    """One example per row gives 100%; without the rows holding one level, those combinations are missing."""
    examples = [cases_in(row).example() for row in ROWS]
    records = [_record("t", row, *ex) for row, ex in zip(ROWS, examples)]
    full = three_way(records, ["t"])["targets"]["t"]
    assert full["covered"] == full["required"] == len(F.required()) and full["share"] == 1.0 and not full["missing"]
    some = [r for r, ex in zip(records, examples) if ex[0].nd != 3]
    part = three_way(some, ["t"])["targets"]["t"]
    with_3d = sum(1 for combo in F.required() if ("nd", 3) in combo)
    assert part["required"] - part["covered"] >= with_3d and part["missing"]  # and what only 3-D rows held
