"""Every 3-way combination of the discrete features, in every run: one test per row of the covering
array (:mod:`conv_oracle.definition.features`), Hypothesis drawing the continuous parameters inside the
row; forward values or the gradient of the row's operand (``wrt``), with exact operands (small
integers) where the dtype keeps every partial sum exact, the rounding bound elsewhere (a vacuous bound
is refused and recorded as not checkable, never passed)."""

import pytest
from hypothesis import event, given, note, settings
from hypothesis import strategies as st

from conv_oracle import strategies as cs
from conv_oracle.checks import properties
from conv_oracle.definition.features import covering_rows, features_of
from conv_oracle.targets.execution import supports

pytestmark = pytest.mark.differential

ROWS = covering_rows()


@pytest.mark.parametrize("row", ROWS, ids=[f"row{i:03d}" for i in range(len(ROWS))])
@settings(max_examples=max(2, settings.default.max_examples // 30))
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_covering_row(target, record, row, data, seed):
    """The row's example is checked whatever the target's name or the run's seed: a fault confined
    to one 3-way cell of the features is reached by every default run."""
    case, dtype, x_layout, w_layout = data.draw(cs.cases_in(row), label="example")
    wrt = row["wrt"]
    assert features_of(case, dtype, x_layout, w_layout, wrt) == row, "cases_in drew outside its row"
    gradient = wrt != "none"
    if target.unsupported(dtype, autograd=gradient):
        pytest.skip(target.unsupported(dtype, autograd=gradient))
    if supports(target, case) is not None:
        pytest.skip(supports(target, case))
    magnitude = cs.exactness(case, dtype, target, gradients=gradient).magnitude
    mode = "exact" if magnitude else "float"  # no integer range is exact for this many terms in this dtype
    event(f"mode={mode}")
    expanded = "expanded" in (x_layout, w_layout)
    made = {"magnitude": magnitude or 1, "layout": "expanded" if expanded else "contiguous"}
    ops = cs.make_operands(case, mode, seed, made["magnitude"], made["layout"])
    note(f"operands: {ops!r}")
    prop = f"gradient_{wrt}" if gradient else "forward_covering"
    with record(prop, target, case, dtype=dtype, mode=mode, x_layout=x_layout, w_layout=w_layout, seed=seed,
                operands=made) as rec:
        if gradient:
            rec.update(properties.gradients(target, case, ops, dtype, wrt, x_layout, w_layout))
        else:
            rec.update(properties.forward(target, case, ops, dtype, x_layout, w_layout))
