"""Mismatch names: the snapshot writes them with mismatch_names.build, the diff reads them back with
mismatch_names.parse. Every name build can make (so every name the snapshot writes) parses back to
itself; anything else is refused with a message naming it and what is wrong."""

from __future__ import annotations

import ast
import glob
import itertools
import json
import os

import pytest
import torch.nn.functional as F

from conv_oracle.baseline import diff, mismatch_names as mn, schema
from conv_oracle.baseline import snapshot as snap_mod
from conv_oracle.definition.dtypes import FLOAT_DTYPES
from conv_oracle.targets import Target

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _every_name() -> list[mn.MismatchName]:
    """Every combination of the fields that build accepts."""
    out = []
    for check, dtype, wrt, exact, threads in itertools.product(mn.CHECKS, (None, *FLOAT_DTYPES), (None, *mn.WRTS),
                                                               (False, True), (False, True)):
        try:
            out.append(mn.MismatchName(check, dtype, wrt, exact, threads))
        except mn.MismatchNameError:
            pass
    return out


def test_every_buildable_name_round_trips():
    names = _every_name()
    # acceptance / coverage / pinned: 5 dtypes-or-none; forward: 5 (exact or a dtype); grad: 3 x 5;
    # output_shape / backward / exact: 1; each at 1 thread and at N
    assert len(names) == 2 * (3 * 5 + 5 + 15 + 3)
    for m in names:
        text = mn.build(m.check, m.dtype, m.wrt, m.exact, m.threads)
        assert text == str(m) == m.name
        assert mn.parse(text) == m, text
    assert len({m.name for m in names}) == len(names)  # no two checks share a name


@pytest.mark.parametrize("name, fields", [
    ("output_shape", dict(check="output_shape")),
    ("forward_exact", dict(check="forward", exact=True)),
    ("grad_weight_exact", dict(check="grad", wrt="weight", exact=True)),
    ("forward_bfloat16@N", dict(check="forward", dtype="bfloat16", threads=True)),
    ("grad_bias_float32", dict(check="grad", dtype="float32", wrt="bias")),
    ("coverage_float16@N", dict(check="coverage", dtype="float16", threads=True)),
    ("coverage@N", dict(check="coverage", threads=True)),
    ("pinned_float32", dict(check="pinned", dtype="float32")),
    ("exact@N", dict(check="exact", threads=True)),
    ("backward@N", dict(check="backward", threads=True)),
    ("acceptance", dict(check="acceptance")),
    ("acceptance_float16", dict(check="acceptance", dtype="float16")),
])
def test_names_as_the_snapshot_writes_them(name, fields):
    """The spellings baselines already hold (the format is unchanged)."""
    assert mn.parse(name) == mn.MismatchName(**fields)
    assert mn.build(**fields) == name


@pytest.mark.parametrize("name, problem", [
    ("", "empty"),
    ("fwd_float32", "unknown check 'fwd'"),
    ("forward", "forward takes exactly one of 'exact' and a dtype"),
    ("forward_exact_float32", "forward takes exactly one of 'exact' and a dtype"),
    ("forward_float32_float16", "unexpected 'float32_float16' after 'forward'"),
    ("forward_float33", "unknown dtype 'float33'"),
    ("grad", "grad names its gradient"),
    ("grad_float32", "unknown gradient 'float32'"),
    ("coverage_float32@4", "the only suffix is '@N'"),
    ("exact_float32", "exact takes no dtype"),
    ("output_shape_float32", "unknown check 'output'"),
    ("coverage_exact", "unknown dtype 'exact'"),
])
def test_a_malformed_name_is_a_clear_error(name, problem):
    with pytest.raises(mn.MismatchNameError) as info:
        mn.parse(name)
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert message.startswith(f"{name!r} is not a mismatch name: ") and problem in message, message
    assert "\n" not in message


def test_build_refuses_what_parse_would_refuse():
    with pytest.raises(mn.MismatchNameError, match="takes exactly one of 'exact' and a dtype"):
        mn.build("forward", "float32", exact=True)
    with pytest.raises(mn.MismatchNameError, match="backward names no gradient"):
        mn.build("backward", wrt="input")


def _mismatch_keys(tree: ast.AST):
    """Every expression snapshot.py uses as a mismatch name: ``rec["mismatches"][K] = ...``,
    ``rec["mismatches"].setdefault(K, ...)`` and ``_check(rec, K, ...)``."""
    def is_mismatches(node):
        return isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and \
            node.slice.value == "mismatches"
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and is_mismatches(node.value):
            yield node.slice
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and is_mismatches(node.func.value) \
                and node.func.attr == "setdefault":
            yield node.args[0]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_check":
            yield node.args[1]


def test_the_snapshot_names_every_mismatch_through_build():
    """So every name it can write is one of those above (its only other key is the name parameter of _check)."""
    tree = ast.parse(open(snap_mod.__file__, encoding="utf-8").read())
    keys = list(_mismatch_keys(tree))
    assert len(keys) >= 10
    bad = [ast.unparse(k) for k in keys
           if not (isinstance(k, ast.Call) and isinstance(k.func, ast.Name) and k.func.id == "mismatch_name")
           and not (isinstance(k, ast.Name) and k.id == "name")]  # inside _check: its parameter
    assert not bad, f"mismatch names built outside mismatch_names.build: {bad}"
    assert snap_mod.mismatch_name is mn.build


def test_names_a_real_snapshot_builds_round_trip(monkeypatch):
    """A transposed conv that adds 1 everywhere, on the finding with pinned operands: every check runs
    (and most disagree); each name built, and each recorded, parses back to itself."""
    built = []

    def spy(*args, **kwargs):
        built.append(mn.build(*args, **kwargs))
        return built[-1]
    monkeypatch.setattr(snap_mod, "mismatch_name", spy)
    shifted = Target("shifted", {"conv2d": F.conv2d,
                                 "conv_transpose2d": lambda *a, **k: F.conv_transpose2d(*a, **k) + 1})
    from conv_oracle.baseline.corpus import findings
    entry = next(e for e in findings() if e.operands is not None and e.case.nd == 2)
    with snap_mod.single_threaded():
        rec = snap_mod.run_entry(shifted, entry)
    assert {"forward_exact", "grad_input_exact", "forward_float32", "coverage_bfloat16@N",
            "pinned_float32"} <= set(built)
    assert rec["mismatches"] and set(rec["mismatches"]) <= set(built)
    for name in built:
        assert mn.parse(name).name == name


def test_every_committed_baseline_name_parses():
    paths = glob.glob(os.path.join(ROOT, "reports", "baselines", "**", "*.json"), recursive=True)
    names = {n for p in paths for c in json.load(open(p, encoding="utf-8"))["cases"] for n in c["mismatches"]}
    assert names  # the committed baselines record some disagreements
    for name in names:
        assert mn.parse(name).name == name


def test_a_baseline_with_a_malformed_name_is_refused_at_load():
    with open(os.path.join(ROOT, "reports", "baselines", "torch-2.13.0-cpu.json"), encoding="utf-8") as fh:
        data = json.load(fh)
    schema.validate(json.loads(json.dumps(data)))  # as committed: valid
    data["cases"][0]["mismatches"]["forward_float33"] = "cells differ"
    with pytest.raises(schema.BaselineError, match=r"case 0 .*'forward_float33' is not a mismatch name: unknown dtype"):
        schema.loads(json.dumps(data), "planted.json")


@pytest.mark.parametrize("name, text, cls, phrase", [
    ("coverage_bfloat16@N", "bias-only cell (0, 1) is nan, NaN/Inf", "coverage", "NaN/Inf reaches bias-only cells"),
    ("pinned_float32", "3 of 4 cells", "coverage", "NaN reaches the finding's cells that no input reaches"),
    ("grad_input_float32", "cells differ", "values", "gradients beyond the rounding bound"),
    ("grad_input_exact", "cells differ", "values", "exact results disagree with the oracle"),
    ("exact@N", "exact-mode ['output'] digests differ between 1 and 4 threads", "values",
     "exact results depend on the thread count"),
    ("output_shape", "shape (1, 2)", "shape", "output shape disagrees with the oracle"),
    ("acceptance_float16", "accepted an invalid configuration (groups) and", "acceptance",
     "accepts an invalid call (groups)"),
    ("forward_float16", "raised RuntimeError: x", "acceptance", "raises RuntimeError: x"),
])
def test_the_diff_reads_the_parsed_name(name, text, cls, phrase):
    assert diff.check_class(name, text) == cls
    assert diff.phrase(name, text) == phrase
