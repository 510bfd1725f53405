"""An output gradient given with the operands (``Operands.gy``): used as given, checked for its shape, and a
non-finite one is compared only in exact mode (float mode has no rounding bound for it: refused)."""

import math

import numpy as np
import pytest

from conv_oracle.checks import properties
from conv_oracle.checks.operands import Operands, make_operands, output_gradient
from conv_oracle.checks.verdicts import Verdict
from conv_oracle.definition.case import Case
from conv_oracle.machine import settings
from conv_oracle.targets import load_target

CASE = Case("conv", 1, None, 1, 1, 1, (1,), (1,), stride=2, padding=1, bias=False)  # output (1, 2)


@pytest.fixture
def in_process(monkeypatch):
    monkeypatch.setenv("CONV_ORACLE_ISOLATION", "0")
    settings.reload()


def test_a_given_output_gradient_is_used_and_its_shape_checked():
    ops = make_operands(CASE, "exact", 0, 3)
    given = Operands(ops.x, ops.w, ops.b, "exact", 3, 0, gy=np.array([[1.0, math.inf]]))
    assert CASE.output_shape == (1, 2)
    assert output_gradient(given, CASE.output_shape).tolist() == [[1.0, math.inf]]
    with pytest.raises(ValueError, match=r"shape \[1, 2\]; the output is \[2, 2\]"):
        output_gradient(given, (2, 2))


def test_an_infinite_output_gradient_over_padding_is_nan_in_float64(in_process):
    """torch's native float64 kernel takes the padding's gy * 0 terms, as the definition does: exact mode passes."""
    x, w = np.array([[2.0]]), np.array([[[1.0]]])
    ops = Operands(x, w, None, "exact", 3, 0, gy=np.array([[0.0, math.inf]]))
    assert properties.gradients(load_target("torch"), CASE, ops, "float64", "weight")["bound_share"] == 0.0


def test_float_mode_refuses_a_nonfinite_output_gradient(in_process):
    ops = Operands(np.array([[2.0]]), np.array([[[1.0]]]), None, "float", 1, 0, gy=np.array([[0.0, math.inf]]))
    result = properties.gradients(load_target("torch"), CASE, ops, "float64", "weight")
    assert result["verdict"] == Verdict.NOT_CHECKABLE and "non-finite output gradient" in result["refused"]
