"""The baseline file format: JSON, ``{"schema": "conv-oracle-baseline", "version": 2, ...}``.

:func:`load` / :func:`loads` validate everything :mod:`.diff` relies on and raise
:class:`BaselineError` (a ValueError, one line) for an unreadable, malformed, truncated, foreign,
newer-version or incomplete file, so that a bad baseline can never compare as "no changes".
:func:`dumps` writes one case per line, which keeps ``git diff`` of two baselines readable.

Version 2 adds the machine: ``fingerprint`` (:func:`conv_oracle.machine.fingerprint.fingerprint`) and
``hardware_class`` (:func:`conv_oracle.machine.fingerprint.hardware_class`), and records coverage per dtype
(``coverage: {dtype: {property, observed}}``). A version-1 file is read by :func:`migrate`: its
machine is unknown (``hardware_class`` null, so its bound shares are never compared as same-hardware
drift) and its single float32 coverage becomes ``{"float32": ...}``; ``migrated_from`` says so.
"""

from __future__ import annotations

import json

from ..checks.verdicts import Verdict
from .mismatch_names import MismatchNameError, build as mismatch_name, parse as parse_mismatch

SCHEMA = "conv-oracle-baseline"
VERSION = 2
#: versions :func:`migrate` can read
READABLE = (1, 2)

OUTCOMES = ("accepted", "rejected", "unsupported")
#: a case's verdict: every check agreed with the oracle (a record's pass), or some disagreed (``mismatches``)
PASS, MISMATCH = Verdict.PASS.value, "mismatch"
VERDICTS = (PASS, MISMATCH)
KINDS = ("valid", "invalid")

#: top-level field -> required type
TOP_LEVEL = {"schema": str, "version": int, "target": dict, "environment": dict, "corpus": dict, "settings": dict,
             "summary": dict, "cases": list}
TARGET_FIELDS = {"name": str, "device": str}
ENVIRONMENT_FIELDS = {"torch_version": str, "python": str, "numpy": str}
CORPUS_FIELDS = {"version": int, "size": int, "digest": str}
#: case field -> required type (a tuple: any of them)
CASE_FIELDS = {"id": str, "kind": str, "source": str, "label": str, "case": dict, "outcome": str, "verdict": str,
               "mismatches": dict}
#: version-2 top-level fields (absent from version 1, filled by :func:`migrate`)
MACHINE_FIELDS = {"fingerprint": (dict, type(None)), "hardware_class": (str, type(None))}
OPTIONAL_CASE_FIELDS = {"error": (str, type(None)), "reason": (str, type(None)), "output_shape": (list, type(None)),
                        "exact": (dict, type(None)), "bound_share": dict, "coverage": (dict, type(None)),
                        "rule": (str, type(None))}


class BaselineError(ValueError):
    """A baseline that cannot be used; the message is one line and names the file."""

    def __init__(self, source: str, problem: str):
        self.source, self.problem = source, problem
        super().__init__(f"{source}: {' '.join(problem.split())}")


def _type_name(t) -> str:
    names = {str: "a string", int: "an integer", dict: "an object", list: "a list", type(None): "null",
             float: "a number"}
    return " or ".join(names[x] for x in t) if isinstance(t, tuple) else names[t]


def _is(value, t) -> bool:
    types = t if isinstance(t, tuple) else (t,)
    return any(isinstance(value, x) and not (x is int and isinstance(value, bool)) for x in types)


def _fields(source: str, where: str, obj: dict, spec: dict, required: bool = True) -> None:
    for key, t in spec.items():
        if key not in obj:
            if required:
                raise BaselineError(source, f"{where} has no {key!r} field (an incomplete or hand-edited baseline)")
            continue
        if not _is(obj[key], t):
            raise BaselineError(source, f"{where}: {key!r} must be {_type_name(t)}, not {type(obj[key]).__name__}")


def validate(data, source: str = "<baseline>") -> dict:
    """Check the structure of a parsed baseline; return it unchanged or raise :class:`BaselineError`."""
    if not isinstance(data, dict):
        raise BaselineError(source, f"not a conv-oracle baseline (the top level is a JSON {type(data).__name__}, "
                                    f"not an object)")
    if data.get("schema") != SCHEMA:
        found = f"schema {data['schema']!r}" if "schema" in data else "no 'schema' field"
        raise BaselineError(source, f"not a conv-oracle baseline ({found}; expected schema {SCHEMA!r})")
    version = data.get("version")
    if not _is(version, int) or version < 1:
        raise BaselineError(source, f"schema version must be a positive integer, not {version!r}")
    if version > VERSION:
        raise BaselineError(source, f"schema version {version} is newer than this conv_oracle reads (up to "
                                    f"{VERSION}); upgrade conv_oracle, or re-create the baseline with this one")
    if version not in READABLE:
        raise BaselineError(source, f"schema version {version} is not one this conv_oracle reads ({list(READABLE)}); "
                                    f"re-create the baseline with `conv-oracle snapshot`")
    _fields(source, "the baseline", data, TOP_LEVEL)
    if version == 1:
        migrate(data)
    _fields(source, "the baseline", data, MACHINE_FIELDS)
    _fields(source, "'target'", data["target"], TARGET_FIELDS)
    _fields(source, "'environment'", data["environment"], ENVIRONMENT_FIELDS)
    _fields(source, "'corpus'", data["corpus"], CORPUS_FIELDS)
    cases = data["cases"]
    if data["corpus"]["size"] != len(cases):
        raise BaselineError(source, f"'corpus' says {data['corpus']['size']} cases but the file holds {len(cases)} "
                                    f"(cut short or edited)")
    if not cases:
        raise BaselineError(source, "holds no cases, so it can vouch for nothing")
    seen = set()
    for i, case in enumerate(cases):
        where = f"case {i}"
        if not isinstance(case, dict):
            raise BaselineError(source, f"{where} is a {type(case).__name__}, not an object")
        if isinstance(case.get("id"), str):
            where += f" (id {case['id']})"
        _fields(source, where, case, CASE_FIELDS)
        _fields(source, where, case, OPTIONAL_CASE_FIELDS, required=False)
        for key, allowed in (("kind", KINDS), ("outcome", OUTCOMES), ("verdict", VERDICTS)):
            if case[key] not in allowed:
                raise BaselineError(source, f"{where}: {key} {case[key]!r} is not one of {list(allowed)}")
        for name in case["mismatches"]:  # what diff reads back: each name must parse
            try:
                parse_mismatch(name)
            except MismatchNameError as exc:
                raise BaselineError(source, f"{where}: in 'mismatches', {exc}") from None
        if case["id"] in seen:
            raise BaselineError(source, f"{where}: the id appears twice")
        seen.add(case["id"])
    return data


def migrate(data: dict) -> dict:
    """Version 1 -> 2 in place: no machine facts (hardware unknown) and coverage keyed by dtype."""
    data.setdefault("fingerprint", None)
    data.setdefault("hardware_class", None)
    for case in data.get("cases", []):
        cov = case.get("coverage") if isinstance(case, dict) else None
        if isinstance(cov, dict) and "property" in cov:
            case["coverage"] = {"float32": cov}
        mm = case.get("mismatches") if isinstance(case, dict) else None
        if isinstance(mm, dict) and "coverage" in mm:  # v1 checked coverage in float32 only
            mm[mismatch_name("coverage", "float32")] = mm.pop("coverage")
    data["migrated_from"] = data["version"]
    data["version"] = VERSION
    return data


def loads(text: str, source: str = "<baseline>") -> dict:
    """Parse and validate a baseline from text."""
    if not text.strip():
        raise BaselineError(source, "empty file, not a baseline")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        body = text.strip()
        if (exc.pos >= len(body) or exc.msg.startswith("Unterminated string")
                or (body.startswith("{") and not body.endswith("}"))):
            raise BaselineError(source, f"truncated: the JSON ends early (line {exc.lineno}, column {exc.colno}); "
                                        f"was the write interrupted?") from None
        raise BaselineError(source, f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    return validate(data, source)


def load(path: str) -> dict:
    """Read, parse and validate the baseline at ``path``."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise BaselineError(path, f"cannot read the baseline ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BaselineError(path, "not a text (UTF-8 JSON) file, so not a baseline") from None
    return loads(text, path)


def dumps(data: dict) -> str:
    """JSON text: top-level fields one per line, then one case per line (sorted keys throughout)."""
    validate(data, "<snapshot being written>")
    head = [f"  {json.dumps(k)}: {json.dumps(data[k], sort_keys=True)}" for k in sorted(data) if k != "cases"]
    cases = ",\n".join(f"    {json.dumps(c, sort_keys=True)}" for c in data["cases"])
    return "{\n" + ",\n".join(head) + ',\n  "cases": [\n' + cases + "\n  ]\n}\n"
