"""The kind of a failure from its details or its cells: the one vocabulary known deviations match on.
Written against surviving mutants of conv_oracle/checks/failure_kinds.py (docs/mutation-testing.md)."""

from conv_oracle.checks.failure_kinds import KINDS, FailureKind, of_cells, of_details


def cell(expected, got):
    return {"index": [0, 0, 0], "expected": expected, "got": got}


def test_a_cell_with_an_unknown_value_is_a_wrong_value():
    # an uninitialised read records no expected value; a cell without a readable number cannot be
    # called NaN-for-finite or finite-for-NaN
    assert of_cells([cell(None, 3.0)]) is FailureKind.WRONG_VALUE
    assert of_cells([cell(None, "nan")]) is FailureKind.WRONG_VALUE
    assert of_cells([cell(3.0, None)]) is FailureKind.WRONG_VALUE
    assert of_cells([cell("nan", None)]) is FailureKind.WRONG_VALUE
    assert of_cells([cell(3.0, "garbage")]) is FailureKind.WRONG_VALUE
    assert of_cells([cell("garbage", "inf")]) is FailureKind.WRONG_VALUE
    assert of_cells([{"index": [0]}]) is FailureKind.WRONG_VALUE


def test_cells_name_nonfinite_and_finite():
    assert of_cells([cell(0.0, "nan")]) is FailureKind.NONFINITE
    assert of_cells([cell(0.0, "-inf")]) is FailureKind.NONFINITE
    assert of_cells([cell("inf", 1.0)]) is FailureKind.FINITE
    assert of_cells([cell("nan", "inf")]) is FailureKind.WRONG_VALUE  # both non-finite, and different
    assert of_cells([cell(1.0, 2.0)]) is FailureKind.WRONG_VALUE


def test_the_worst_kind_among_the_cells_wins():
    assert of_cells([cell(0.0, "nan"), cell("nan", 1.0)]) is FailureKind.FINITE
    assert of_cells([cell("nan", 1.0), cell(0.0, "nan")]) is FailureKind.FINITE
    assert of_cells([cell(0.0, "nan"), cell(1.0, 2.0), cell("nan", 1.0)]) is FailureKind.WRONG_VALUE
    assert of_cells([]) is FailureKind.WRONG_VALUE and of_cells(None) is FailureKind.WRONG_VALUE


def test_details_name_their_kind_or_fall_back_to_the_cells():
    assert of_details({"kind": "hang", "cells": [cell(0.0, "nan")]}) is FailureKind.HANG
    assert of_details({"kind": "segfault", "cells": [cell(0.0, "nan")]}) is FailureKind.NONFINITE
    assert of_details({"cells": [cell(0.0, "nan")]}) is FailureKind.NONFINITE
    assert of_details(None) is FailureKind.WRONG_VALUE and of_details({}) is FailureKind.WRONG_VALUE
    assert KINDS == tuple(k.value for k in FailureKind) and len(KINDS) == 13
