"""The ``strided`` layout: any dimension order, NaN-filled gaps, any stride on length-1 dimensions, a
storage offset; the same for one operand every time, and reproduced by its snippet."""

import numpy as np
import pytest
import torch

from conv_oracle.checks.snippets import _tensor
from conv_oracle.targets.execution import SIZE1_STRIDES, place, strided_layout


def _arrays(count, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        shape = tuple(int(n) for n in rng.integers(1, 4, size=rng.integers(1, 6)))
        yield rng.integers(-3, 4, size=shape).astype(np.float64)


@pytest.mark.parametrize("dtype", ["float64", "bfloat16"])
def test_values_as_given_gaps_poisoned_and_deterministic(dtype):
    seen_orders, seen_size1, seen_gaps, seen_offsets = set(), set(), False, set()
    for a in _arrays(200):
        t, applied = place(a, dtype, "strided", "cpu", requires_grad=True)
        assert applied == "strided" and t.is_leaf and t.requires_grad
        assert np.array_equal(t.detach().double().numpy(), a)
        again, _ = place(a, dtype, "strided", "cpu")
        assert again.stride() == t.stride() and again.storage_offset() == t.storage_offset()
        order, strides, offset, size = strided_layout(a)
        assert t.stride() == strides and t.storage_offset() == offset
        used = {offset + sum(i * s for i, s in zip(idx, strides)) for idx in np.ndindex(a.shape)}
        assert len(used) == a.size  # no two elements share memory
        seen_gaps |= size > len(used) + offset
        seen_orders.add(order != tuple(sorted(order)))
        seen_size1 |= {s for n, s in zip(a.shape, strides) if n == 1}
        seen_offsets.add(offset)
    assert seen_orders == {True, False} and seen_gaps and seen_size1 == set(SIZE1_STRIDES)
    assert seen_offsets == {0, 1, 2, 3}


def test_gaps_hold_nan():
    a = np.ones((2, 3, 4))
    t, _ = place(a, "float32", "strided", "cpu")
    _, strides, offset, size = strided_layout(a)
    flat = torch.as_strided(t, (size - offset,), (1,), offset)
    used = {sum(i * s for i, s in zip(idx, strides)) for idx in np.ndindex(a.shape)}
    gaps = [k for k in range(size - offset) if k not in used]
    assert gaps and torch.isnan(flat[gaps]).all()


def test_the_snippet_rebuilds_the_same_view():
    for a in _arrays(30, seed=1):
        ns = {"torch": torch}
        exec(_tensor("x", a, "float32", "strided"), ns)
        t, _ = place(a, "float32", "strided", "cpu")
        assert ns["x"].stride() == t.stride() and ns["x"].storage_offset() == t.storage_offset()
        assert torch.equal(ns["x"], t)


def test_the_output_gradient_takes_the_input_layout_and_the_path_names_its_strides(monkeypatch):
    from conv_oracle.checks import properties
    from conv_oracle.checks.operands import make_operands, output_gradient
    from conv_oracle.definition.case import Case
    from conv_oracle.machine import settings
    from conv_oracle.targets import load_target
    from conv_oracle.targets.execution import output_gradient_layout
    monkeypatch.setenv("CONV_ORACLE_ISOLATION", "0")
    settings.reload()
    case = Case("conv", 2, 2, 2, 3, 1, (5, 4), (2, 2), stride=(2, 1))
    ops = make_operands(case, "exact", 3, 3)
    result = properties.gradients(load_target("torch"), case, ops, "float64", "weight", "strided", "contiguous")
    gy = output_gradient(ops, (2, 3, 2, 3))
    _, strides, offset, _ = strided_layout(gy)
    assert result["path"]["strides"]["grad_output"] == {"shape": [2, 3, 2, 3], "stride": list(strides), "offset": offset}
    assert output_gradient_layout("expanded", 4) == "contiguous" and output_gradient_layout("channels_last", 3) == "contiguous"
    assert output_gradient_layout("channels_last", 4) == "channels_last"


def test_the_bias_takes_the_weight_layout_where_it_applies():
    from conv_oracle.checks.snippets import snippet
    from conv_oracle.definition.case import Case
    from conv_oracle.targets import load_target
    from conv_oracle.targets.execution import bias_layout, run
    case = Case("conv", 1, 1, 1, 3, 1, (4,), (2,))
    x, w, b = np.ones((1, 1, 4)), np.ones((3, 1, 2)), np.array([1.0, -2.0, 3.0])
    for layout in ("sliced", "strided", "transposed", "contiguous"):
        call = run(load_target("torch"), case, x, w, b, "float32", "contiguous", layout)
        placed, _ = place(b, "float32", bias_layout(layout), "cpu")
        assert call.b.stride() == placed.stride() and call.b.storage_offset() == placed.storage_offset()
        assert call.path["strides"]["bias"]["stride"] == list(placed.stride())
        ns = {"torch": torch}
        exec(snippet(case, "torch", x, w, b, "float32", "contiguous", layout).split("out = ")[0], ns)
        assert ns["b"].stride() == placed.stride() and torch.equal(ns["b"], placed)
    assert bias_layout("sliced") == "sliced" and bias_layout("channels_last") == "contiguous"
