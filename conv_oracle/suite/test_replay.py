"""Replays: an example that went wrong on one target, checked on the other targets of the run.

Each target draws its own examples (a capability, a rejected draw or a failure sends Hypothesis down
another path), so after a run with several targets ``conv-oracle run`` gives this test, through
``--replay FILE``, the examples that were wrong (or a known deviation) on one target and never reached
on another; each is rebuilt from its record (configuration, dtype, operand mode, seed, layouts and
``operands``: how make_operands built them) and checked with the same property, so the report compares
the targets on the same examples. Forward and gradient properties can be replayed
(:data:`conv_oracle.harness.fold.REPLAYABLE`; :func:`conv_oracle.harness.fold.replays` chooses the
examples); the others build their operands in ways a record does not hold. Collected only with ``--replay``.
"""

import pytest

from conv_oracle import strategies as cs
from conv_oracle.checks import properties
from conv_oracle.definition.case import Case
from conv_oracle.targets.execution import supports

pytestmark = pytest.mark.differential


def test_replay(target, record, replayed):
    """The example of ``replayed`` (a record of another target), checked on ``target``."""
    if target.name not in replayed.get("replay_on", ()):
        pytest.skip(f"{target.name} reached this example itself")
    prop, dtype = replayed["property"], replayed["dtype"]
    gradient = prop.startswith("gradient_")
    if target.unsupported(dtype, autograd=gradient):
        pytest.skip(target.unsupported(dtype, autograd=gradient))
    case = Case.from_dict(replayed["case"])
    if supports(target, case) is not None:
        pytest.skip(supports(target, case))
    made = replayed["operands"]
    ops = cs.make_operands(case, replayed["mode"], replayed["seed"], made["magnitude"], made["layout"])
    x_layout, w_layout = replayed["x_layout"], replayed["w_layout"]
    with record(prop, target, case, dtype=dtype, mode=replayed["mode"], x_layout=x_layout, w_layout=w_layout,
                seed=replayed["seed"], operands=made, replay=True) as rec:
        if gradient:
            rec.update(properties.gradients(target, case, ops, dtype, prop.split("_", 1)[1], x_layout, w_layout))
        else:
            rec.update(properties.forward(target, case, ops, dtype, x_layout, w_layout))
