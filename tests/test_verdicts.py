"""The verdicts are constants, not strings: no module of the package writes or compares a verdict
literal except the one that defines them (conv_oracle/checks/verdicts.py).

The scan reads each module's syntax tree: every string constant equal to a verdict's value counts,
except docstrings and the places where the string is a field name, not a verdict (``rec["deviation"]``,
``{"deviation": id}``, ``rec.get("deviation")``, ``"deviation" in rec``: the known deviation's id)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import conv_oracle
from conv_oracle.checks.verdicts import Verdict

PACKAGE = Path(conv_oracle.__file__).resolve().parent
HOME = PACKAGE / "checks" / "verdicts.py"
VALUES = {v.value for v in Verdict}
KEY_METHODS = {"get", "setdefault", "pop"}


def _exempt(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings or field names."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
        elif isinstance(node, ast.Subscript):
            out.add(id(node.slice))
        elif isinstance(node, ast.Dict):
            out.update(id(k) for k in node.keys if k is not None)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in KEY_METHODS
              and node.args):
            out.add(id(node.args[0]))
        elif isinstance(node, ast.Compare) and isinstance(node.ops[0], (ast.In, ast.NotIn)):
            out.add(id(node.left))
    return out


def verdict_literals(source: str) -> list[tuple[int, str]]:
    """``(line, value)`` of each verdict written as a string literal in ``source``."""
    tree = ast.parse(source)
    exempt = _exempt(tree)
    return sorted((n.lineno, n.value) for n in ast.walk(tree)
                  if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in VALUES
                  and id(n) not in exempt)


def test_no_verdict_literal_outside_its_home():
    found = [f"{path.relative_to(PACKAGE.parent)}:{line}: {value!r}"
             for path in sorted(PACKAGE.rglob("*.py")) if path != HOME
             for line, value in verdict_literals(path.read_text(encoding="utf-8"))]
    assert not found, ("verdicts written as strings; use conv_oracle.checks.verdicts.Verdict "
                       "(re-exported by conv_oracle.harness.records):\n" + "\n".join(found))


def test_the_home_defines_every_verdict_once():
    assert sorted(v for _, v in verdict_literals(HOME.read_text(encoding="utf-8"))) == sorted(VALUES)


@pytest.mark.parametrize("source, found", [
    ('rec["verdict"] = "fail"', [(1, "fail")]),
    ('if r.get("verdict") in ("pass", "fail"): pass', [(1, "fail"), (1, "pass")]),
    ('result.update(verdict="not checkable")', [(1, "not checkable")]),
    ('x = {"verdict": "deviation", "deviation": hit.id}', [(1, "deviation")]),
    ('row = rows[r.get("deviation")]; rec["deviation"] = 1; ok = "deviation" in rec', []),
    ('def f():\n    """pass"""\n', []),
])
def test_the_scan_sees_literals_and_not_field_names(source, found):
    assert verdict_literals(source) == found


def test_members_are_their_strings():
    """records.jsonl stays as it was: a member serialises, prints and compares as its value."""
    import json
    assert json.dumps({"verdict": Verdict.NOT_CHECKABLE}) == '{"verdict": "not checkable"}'
    assert f"{Verdict.PASS}" == str(Verdict.PASS) == "pass" and Verdict("fail") is Verdict.FAIL
    assert [v.value for v in Verdict] == ["pass", "fail", "deviation", "not checkable"]
