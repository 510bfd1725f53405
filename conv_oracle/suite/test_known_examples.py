"""Every known deviation's own example, replayed in every run against every target.

A draw reaches a narrow fault in some runs only; the example an entry keeps (its ``[deviation.example]``,
:mod:`conv_oracle.harness.known_examples`) is checked every time, so inside the entry's scope the run
reports the deviation, and NOT REPRODUCED means the target no longer shows it. Outside the scope (another
CPU, ISA cap, dtype path or target) the example is an ordinary check: the definition must hold. An entry that
excuses uninitialised memory has its example made up to three times until it shows it (:func:`replay`)."""

import pytest

from conv_oracle.checks import properties
from conv_oracle.definition.invalid_calls import InvalidCall
from conv_oracle.harness.known_examples import replay
from conv_oracle.targets.execution import supports

pytestmark = pytest.mark.differential


def test_known_deviation_example(target, record, known_example):
    """The entry's call, through the property it names; bit for bit (exact operands) like the suite."""
    ex, case = known_example, known_example.case
    prop = ex.property
    if target.unsupported(ex.dtype, autograd=prop.startswith("gradient_")):
        pytest.skip(target.unsupported(ex.dtype, autograd=prop.startswith("gradient_")))
    if prop == "error_parity":
        call = InvalidCall(ex.rule, case, case.input_shape, case.weight_shape, case.bias_shape if case.bias else None)
        with record(prop, target, case, dtype=ex.dtype, rule=ex.rule, seed=ex.seed) as rec:
            rec.update(properties.error_parity(target, call, ex.dtype, ex.seed))
        return
    if supports(target, case) is not None:
        pytest.skip(supports(target, case))
    fields = dict(dtype=ex.dtype, x_layout=ex.x_layout, w_layout=ex.w_layout, seed=ex.seed)
    if prop.startswith(("forward_", "gradient_")):
        fields["mode"] = "exact"
    with record(prop, target, case, **fields) as rec:
        value, tries = replay(lambda: _check(target, ex), ex.tries)
        rec.update(value)
        if tries > 1:
            rec["tries"] = tries


def _check(target, ex):
    case = ex.case
    if ex.property.startswith("forward_"):
        return properties.forward(target, case, ex.operands(), ex.dtype, ex.x_layout, ex.w_layout)
    if ex.property.startswith("gradient_"):
        return properties.gradients(target, case, ex.operands(), ex.dtype, ex.wrt, ex.x_layout, ex.w_layout)
    if ex.property == "skipped_pixels_nonfinite":
        return properties.skipped_pixels(target, case, ex.dtype, ex.seed, ex.x_layout, ex.w_layout, parts=("nonfinite",))
    return properties.bias_only_cells(target, case, ex.dtype, ex.seed, ex.x_layout, ex.w_layout, parts=("nonfinite",))
