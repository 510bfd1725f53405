"""Known deviations as scoped data: where a target departs from the definition, and only there.

An entry (a ``[[deviation]]`` table in a TOML file) names *what* a deviation looks like and *where*
it lives, not a test:

=============  ==============================================================================
``id``         short unique name (required)
``reason``     what goes wrong (required); ``link``: an upstream issue, optional
``kind``       the failure kinds it excuses (required): ``wrong_value``, ``nonfinite``, ``finite``,
               ``wrong_shape``, ``crash``, ``hang``, ``uninitialised``, ``accepted_invalid``,
               ``rejected_valid``, ``wrong_error``, ``modified_input``, ``state_changed``,
               ``memory`` (:mod:`conv_oracle.checks.failure_kinds`); a failure of another kind
               inside the scope fails
``torch``      torch versions it holds for, a PEP 440 specifier (``">=2.13,<2.15"``)
``property``   the property names it affects (``forward_exact``, ``bias_only_nonfinite``, ``error_parity``...)
``rule``       for ``error_parity``: the invalid-configuration rules
``op``         ``conv`` / ``conv_transpose``;  ``dtype``: storage dtypes
``x_layout``   memory layouts of input / weight (``channels_last``, ``sliced``...);  ``w_layout``
``layout``     layouts of which the input's *or* the weight's must be one
``backend``    ATen backends the example ran on (``MkldnnTranspose``...): this is what lets a module
               that wraps torch's kernels inherit the entry
``isa_min``    lowest / highest oneDNN ISA level in effect (``AVX512_CORE_BF16``...);  ``isa_max``
``target``     target names (globs); leave it out to cover every target that runs torch's kernels
``compile``    torch.compile modes (``default``, ``freezing``, ``max-autotune``, ``dynamic``; ``*``: any): the
               example ran compiled (``torch-compile@...``) with one of them; eager examples are out of scope
``regimes``    a table of regime tags to values (``{output_padding = ["<stride"]}``), as
               :meth:`conv_oracle.definition.case.Case.regimes` names them
``when``       a condition on the configuration: a Python-like expression over ``stride``,
               ``padding``, ``dilation``, ``output_padding``, ``kernel_size``, ``input_size`` (tuples),
               ``groups``, ``in_channels``, ``out_channels``, ``batch``, ``bias``, ``nd``, ``op``,
               ``padding_mode``, ``output_length`` (the size formula's per-dimension result, which
               is below 1 for some invalid calls; 'valid' pads 0, 'same' keeps the input size),
               ``padding_only`` (per dimension, True when every output cell along it reads only zero
               padding: no tap lands on a real input pixel, or for a transposed convolution no input
               reaches any output cell; :func:`~conv_oracle.definition.geometry.conv_padding_only_axes`;
               None for an invalid call, so a condition on it is false there), ``x_memory`` and
               ``w_memory`` (the input's and the weight's memory format as the target got them, from the
               strides the call's path recorded: ``contiguous``, ``channels_last``, ``channels_last_odd``
               (channels_last for torch, another stride on a size-1 dimension), ``other``; None without
               a recorded path), with
               ``min max any all len sum`` (``"max(kernel_size) >= 4"``, ``"min(output_length) == 0"``)
``cells``      a condition on the differing cells: ``"bias_only"`` (every one is a cell no input
               reaches) or ``"touched"``
``got``        a condition on the values the target gave in the differing cells, each of which
               must be: ``nan``, ``inf`` (either sign), ``nonfinite``, ``finite`` or ``zero``
``expected``   the same condition on the values the definition gives there, where known
``example``    the call that showed the deviation, replayed in every run: a table, or an array of
               tables where the fault shows on different calls at different ISA levels
               (:mod:`conv_oracle.harness.known_examples`)
=============  ==============================================================================

Every list field matches if the example's value is in the list (``*`` globs allowed). Entries
apply per example, to failures of their kinds only (:meth:`Deviations.match`): a failing example
they cover is recorded as an expected deviation and the property goes on checking the others; an entry whose scope ran but
never matched is reported as not reproduced (:meth:`Deviations.in_scope`).
"""

from __future__ import annotations

import ast
import fnmatch
import functools
import math
import os
from dataclasses import dataclass, field

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from ..checks.failure_kinds import KINDS, VALID_CALL_ONLY, FailureKind, of_details
from ..machine.kernel_path import LEVEL_NAMES, memory_format

BUILTIN_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "suite",
                            "known_deviations.toml")

LIST_FIELDS = ("property", "rule", "op", "dtype", "backend", "target", "x_layout", "w_layout", "layout", "kind",
               "compile")
FIELDS = {"id", "reason", "link", "torch", "isa_min", "isa_max", "regimes", "when", "cells", "got", "expected", "example",
          *LIST_FIELDS}
CELLS = ("bias_only", "touched")
GOT = {"nan": math.isnan, "inf": math.isinf, "nonfinite": lambda v: not math.isfinite(v), "finite": math.isfinite,
       "zero": lambda v: v == 0}
_FUNCS = {"min": min, "max": max, "any": any, "all": all, "len": len, "sum": sum}
_VOCABULARY = ("stride", "padding", "dilation", "output_padding", "kernel_size", "input_size", "groups",
               "in_channels", "out_channels", "batch", "bias", "nd", "op", "padding_mode", "output_length",
               "padding_only", "x_memory", "w_memory")
_NODES = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.Compare, ast.Eq,
          ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Name, ast.Load, ast.Constant,
          ast.Call, ast.Tuple, ast.List, ast.Subscript, ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Mod)


class DeviationFileError(ValueError):
    """A malformed known-deviations file; the message names the file, the entry and the rule broken."""


def _compile_when(expr: str, where: str):
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        raise DeviationFileError(f"{where}: when={expr!r} is not an expression ({exc.msg})") from None
    for node in ast.walk(tree):
        if not isinstance(node, _NODES):
            raise DeviationFileError(f"{where}: when={expr!r} uses {type(node).__name__}, which is not allowed")
        if isinstance(node, ast.Name) and node.id not in _VOCABULARY and node.id not in _FUNCS:
            raise DeviationFileError(f"{where}: when={expr!r} names {node.id!r}; known: {', '.join(_VOCABULARY)}")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in _FUNCS):
            raise DeviationFileError(f"{where}: when={expr!r} may call only {', '.join(_FUNCS)}")
    return compile(tree, where, "eval")


def _version_spec(text: str, where: str):
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        raise DeviationFileError(f"{where}: torch={text!r} is not a version specifier like '>=2.13,<2.15'") from None


def _case_vocabulary(case, padding_only: bool = True) -> dict:
    """The names a ``when`` condition may use, for ``case`` (``padding_only`` left out unless asked for:
    it validates the configuration and walks its geometry)."""
    from ..definition.params import per_dim
    nd = case.nd

    def dims(name, value):
        return value if isinstance(value, str) else tuple(per_dim(name, value, nd))

    v = {"stride": dims("stride", case.stride), "padding": dims("padding", case.padding),
         "dilation": dims("dilation", case.dilation), "output_padding": dims("output_padding", case.output_padding),
         "kernel_size": tuple(case.kernel_size), "input_size": tuple(case.input_size), "groups": case.groups,
         "in_channels": case.in_channels, "out_channels": case.out_channels, "batch": case.batch,
         "bias": case.bias, "nd": nd, "op": case.op, "padding_mode": case.padding_mode}
    v["output_length"] = _output_length(case, v)
    if padding_only:
        v["padding_only"] = _padding_only(case)
    return v


def _memory_names(path: dict | None) -> dict:
    """``x_memory`` / ``w_memory``: the input's and the weight's memory format as the call gave them to the
    target (:func:`~conv_oracle.machine.kernel_path.memory_format` of the strides its path recorded); None
    where the path recorded none."""
    strides = (path or {}).get("strides") or {}
    names = {}
    for name, operand in (("x_memory", "input"), ("w_memory", "weight")):
        got = strides.get(operand)
        names[name] = memory_format(got["shape"], got["stride"]) if got else None
    return names


def _memo_vocabulary(memo: dict, case, padding_only: bool, path: dict | None = None) -> dict:
    """:func:`_case_vocabulary` (with :data:`_FUNCS` and the operands' memory formats from ``path``), derived
    once per example (``padding_only`` when first asked)."""
    if "vocabulary" not in memo:
        memo["vocabulary"] = {**_FUNCS, **_case_vocabulary(case, padding_only=False), **_memory_names(path)}
    names = memo["vocabulary"]
    if padding_only and "padding_only" not in names:
        names["padding_only"] = _padding_only(case)
    return names


def _padding_only(case) -> tuple | None:
    """:meth:`Case.padding_only_axes`, or None when the configuration is invalid (no output cells)."""
    try:
        return case.padding_only_axes()
    except Exception:
        return None


def _output_length(case, v: dict) -> tuple | None:
    """The size formula per dimension, unchecked (so an invalid call's 0 or negative length shows)."""
    if v["padding"] == "same":  # stride 1: the output keeps the input's size
        return tuple(v["input_size"])
    padding = (0,) * v["nd"] if v["padding"] == "valid" else v["padding"]
    if isinstance(padding, str):
        return None
    rows = zip(v["input_size"], v["kernel_size"], v["stride"], padding, v["dilation"], v["output_padding"])
    if case.op == "conv_transpose":
        return tuple((i - 1) * s - 2 * p + d * (k - 1) + a + 1 for i, k, s, p, d, a in rows)
    return tuple((i + 2 * p - d * (k - 1) - 1) // s + 1 if s > 0 else None for i, k, s, p, d, _ in rows)


def _listed(values, value) -> bool:
    return _matches(tuple(values), str(value))


@functools.lru_cache(maxsize=1 << 16)
def _matches(patterns: tuple, value: str) -> bool:
    """``value`` matches one of the globs (asked once per pair: an entry's lists are read per example)."""
    return any(fnmatch.fnmatchcase(value, str(p)) for p in patterns)


@dataclass
class Deviation:
    id: str
    reason: str
    source: str
    link: str | None = None
    torch: object = None
    lists: dict = field(default_factory=dict)
    isa_min: str | None = None
    isa_max: str | None = None
    regimes: dict = field(default_factory=dict)
    when: object = None
    when_text: str | None = None
    cells: str | None = None
    got: str | None = None
    #: every differing cell whose expected value is known (not an uninitialised-memory cell) satisfies it
    expected: str | None = None
    #: the calls that showed it (one per path where they differ), replayed in every run
    #: (:mod:`conv_oracle.harness.known_examples`)
    examples: tuple = ()
    #: torch version -> whether ``torch`` holds for it (asked per example; parsing a version is slow)
    _versions: dict = field(default_factory=dict, repr=False, compare=False)

    def _torch_holds(self, version: str) -> bool:
        if version not in self._versions:
            self._versions[version] = self.torch.contains(version, prereleases=True)
        return self._versions[version]

    def in_scope(self, ex: dict, memo: dict | None = None) -> bool:
        """Whether example ``ex`` lies where this entry says the deviation lives (its failure aside).

        ``ex`` has ``property``, ``target``, ``torch_kernels``, ``torch_version``, ``op``, ``dtype``,
        ``rule``, ``x_layout``, ``w_layout``, ``path`` (backend, isa) and ``case``. ``memo``: a dict kept
        across the entries asked about one example, so that its regimes and vocabulary are derived once.
        An invalid call (``rule`` set) is outside an entry whose kinds only a valid call can show: it could
        never reproduce there, and would be counted NOT REPRODUCED for it."""
        if ex.get("rule") and VALID_CALL_ONLY.issuperset(self.lists["kind"]):
            return False
        if "target" in self.lists:
            if not _listed(self.lists["target"], ex.get("target")):
                return False
        elif not ex.get("torch_kernels", True):
            return False
        if self.torch is not None and not self._torch_holds(str(ex.get("torch_version") or "0")):
            return False
        path = ex.get("path") or {}
        values = {"property": ex.get("property"), "rule": ex.get("rule"), "op": ex.get("op"),
                  "dtype": ex.get("dtype"), "backend": path.get("backend"), "target": ex.get("target"),
                  "x_layout": ex.get("x_layout") or "contiguous", "w_layout": ex.get("w_layout") or "contiguous"}
        for key, allowed in self.lists.items():
            if key == "layout":
                if not (_listed(allowed, values["x_layout"]) or _listed(allowed, values["w_layout"])):
                    return False
            elif key == "compile":  # the modes of a compiled call ('freezing+dynamic': either word)
                modes = path.get("compile")
                if not modes or not any(_listed(allowed, m) for m in [modes, *modes.split("+")]):
                    return False
            elif key not in ("target", "kind") and (values[key] is None or not _listed(allowed, values[key])):
                return False
        if self.isa_min or self.isa_max:
            isa = path.get("isa")
            if isa not in LEVEL_NAMES:
                return False
            if self.isa_min and LEVEL_NAMES.index(isa) < LEVEL_NAMES.index(self.isa_min):
                return False
            if self.isa_max and LEVEL_NAMES.index(isa) > LEVEL_NAMES.index(self.isa_max):
                return False
        case = ex.get("case")
        if self.regimes or self.when is not None:
            if case is None:
                return False
            memo = {} if memo is None else memo
            if self.regimes:
                if "regimes" not in memo:
                    try:
                        memo["regimes"] = case.regimes()
                    except Exception:  # an invalid configuration has no regimes
                        memo["regimes"] = {}
                if any(not _listed(v, memo["regimes"].get(k)) for k, v in self.regimes.items()):
                    return False
            if self.when is not None:
                try:
                    names = _memo_vocabulary(memo, case, "padding_only" in self.when_text, ex.get("path"))
                    if not eval(self.when, {"__builtins__": {}}, names):  # noqa: S307
                        return False
                except Exception:
                    return False
        return True

    def covers_failure(self, ex: dict, details: dict | None) -> bool:
        """The failure is of one of this entry's kinds, and its differing cells satisfy ``cells`` and
        ``got`` (each always true when the entry has no such condition)."""
        if of_details(details).value not in self.lists["kind"]:
            return False
        if self.got is not None:
            values = [c.get("got") for c in (details or {}).get("cells") or []]
            try:
                if not values or not all(GOT[self.got](float(v)) for v in values):
                    return False
            except (TypeError, ValueError):
                return False
        if self.expected is not None:
            cells = (details or {}).get("cells") or []
            known = [c.get("expected") for c in cells if c.get("expected") is not None]
            try:
                if not cells or not all(GOT[self.expected](float(v)) for v in known):
                    return False
            except (TypeError, ValueError):
                return False
        if self.cells is None:
            return True
        cells = [c.get("index") for c in (details or {}).get("cells") or []]
        case = ex.get("case")
        if not cells or case is None or not case.transposed:
            return False
        try:
            mask = case.untouched_mask()
        except Exception:
            return False
        flags = [bool(mask[tuple(idx[-case.nd:])]) for idx in cells]
        return all(flags) if self.cells == "bias_only" else not any(flags)

    def describe(self) -> str:
        scope = [f"{k} {'/'.join(map(str, v))}" for k, v in self.lists.items()]
        if self.torch is not None:
            scope.append(f"torch {self.torch}")
        if self.isa_min or self.isa_max:
            scope.append(f"ISA {self.isa_min or ''}..{self.isa_max or ''}")
        scope += [f"{k} {'/'.join(v)}" for k, v in self.regimes.items()]
        if self.when_text:
            scope.append(f"when {self.when_text}")
        if self.cells:
            scope.append(f"cells {self.cells}")
        if self.got:
            scope.append(f"got {self.got}")
        if self.expected:
            scope.append(f"expected {self.expected}")
        return f"{self.id} ({'; '.join(scope)}): {self.reason}" + (f" [{self.link}]" if self.link else "")


def _entry(raw: dict, where: str) -> Deviation:
    unknown = set(raw) - FIELDS
    if unknown:
        raise DeviationFileError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(FIELDS)}")
    for key in ("id", "reason"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise DeviationFileError(f"{where}: {key!r} is required (a non-empty string)")
    where = f"{where} ({raw['id']})"
    lists = {}
    for key in LIST_FIELDS:
        if key in raw:
            value = [raw[key]] if isinstance(raw[key], str) else raw[key]
            if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
                raise DeviationFileError(f"{where}: {key!r} must be a string or a non-empty list of strings")
            lists[key] = value
    if "kind" not in lists:
        raise DeviationFileError(f"{where}: 'kind' is required: the failure kinds the entry excuses, "
                                 f"from {', '.join(KINDS)}")
    bad = [k for k in lists["kind"] if k not in KINDS]
    if bad:
        raise DeviationFileError(f"{where}: kind={bad[0]!r} must be one of {', '.join(KINDS)}")
    for key in ("isa_min", "isa_max"):
        if key in raw and raw[key] not in LEVEL_NAMES:
            raise DeviationFileError(f"{where}: {key}={raw[key]!r} must be one of {', '.join(LEVEL_NAMES)}")
    regimes = raw.get("regimes", {})
    if not isinstance(regimes, dict) or not all(isinstance(v, list) for v in regimes.values()):
        raise DeviationFileError(f"{where}: 'regimes' must be a table of tag = [values]")
    if raw.get("cells") not in (None, *CELLS):
        raise DeviationFileError(f"{where}: cells={raw['cells']!r} must be one of {', '.join(CELLS)}")
    for key in ("got", "expected"):
        if raw.get(key) not in (None, *GOT):
            raise DeviationFileError(f"{where}: {key}={raw[key]!r} must be one of {', '.join(GOT)}")
    return Deviation(raw["id"], raw["reason"].strip(), where, raw.get("link"),
                     _version_spec(raw["torch"], where) if "torch" in raw else None, lists,
                     raw.get("isa_min"), raw.get("isa_max"), {k: [str(x) for x in v] for k, v in regimes.items()},
                     _compile_when(raw["when"], where) if "when" in raw else None, raw.get("when"), raw.get("cells"),
                     raw.get("got"), raw.get("expected"), _example(raw, where, lists["kind"]))


def _example(raw: dict, where: str, kinds: list) -> tuple:
    """``[deviation.example]`` (one table) or ``[[deviation.example]]`` (several); an entry that excuses
    uninitialised memory replays its examples up to :data:`~.known_examples.UNINITIALISED_TRIES` times."""
    if "example" not in raw:
        return ()
    from .known_examples import UNINITIALISED_TRIES, ExampleError, parse
    tables = raw["example"] if isinstance(raw["example"], list) else [raw["example"]]
    tries = UNINITIALISED_TRIES if FailureKind.UNINITIALISED.value in kinds else 1
    try:
        return tuple(parse(t, raw["id"], where, i if len(tables) > 1 else None, tries) for i, t in enumerate(tables))
    except ExampleError as exc:
        raise DeviationFileError(str(exc)) from None


def load(path: str) -> list[Deviation]:
    """The entries of one file; DeviationFileError (one line) on anything malformed."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise DeviationFileError(f"{path}: cannot read the known-deviations file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise DeviationFileError(f"{path}: not valid TOML ({exc})") from None
    data = dict(data)
    tables = data.pop("deviation", [])  # the [[deviation]] array of tables; nothing else may be there
    if data:
        raise DeviationFileError(f"{path}: only [[deviation]] tables are allowed, found {sorted(data)}")
    entries = [_entry(raw, f"{path}: deviation #{i + 1}") for i, raw in enumerate(tables)]
    ids = [e.id for e in entries]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise DeviationFileError(f"{path}: duplicate deviation id(s) {dup}")
    return entries


@functools.cache
def _builtin() -> tuple[Deviation, ...]:
    """The built-in list, parsed once per process (a package file: it does not change while we run; its
    entries hold no state of a run, only a cache of version checks)."""
    return tuple(load(BUILTIN_FILE))


class Deviations:
    """The entries in force for a run, and what each did: examples in scope, examples matched."""

    def __init__(self, entries: list[Deviation]):
        self.entries = entries
        self.in_scope_counts = {e.id: 0 for e in entries}
        self.matched_counts = {e.id: 0 for e in entries}

    @classmethod
    def from_files(cls, paths: list[str], builtin: bool = True) -> "Deviations":
        entries = (list(_builtin()) if builtin else []) + [e for p in paths for e in load(p)]
        ids = [e.id for e in entries]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise DeviationFileError(f"deviation id(s) {dup} defined twice (the built-in list and a file of yours)")
        return cls(entries)

    def scope(self, ex: dict) -> list[Deviation]:
        memo = {}
        hits = [e for e in self.entries if e.in_scope(ex, memo)]
        for e in hits:
            self.in_scope_counts[e.id] += 1
        return hits

    def match_left_by_earlier_call(self, ex: dict, details: dict | None) -> Deviation | None:
        """A crash that did not recur when its call ran alone in a fresh worker (``crash_alone`` false), right
        after a call (``crash_after``: :func:`conv_oracle.checks.isolation._call_scope`) in the scope of an entry
        that lists crashes (a kernel that corrupts memory leaves the crash to the next call): that entry,
        counted; else None."""
        details = details or {}
        after = details.get("crash_after")
        if not after or details.get("kind") != "crash" or details.get("crash_alone") is not False:
            return None
        from ..definition.case import Case
        case = Case.from_dict(after["case"])
        earlier = dict(ex, property=after["property"], case=case, op=case.op, dtype=after["dtype"],
                       x_layout=after["x_layout"], w_layout=after["w_layout"], path=after.get("path") or ex.get("path"))
        return self.match(earlier, details, [e for e in self.entries if e.in_scope(earlier)])

    def match(self, ex: dict, details: dict | None, in_scope: list[Deviation] | None = None) -> Deviation | None:
        """The first entry covering this failing example, counted; None if the failure is new."""
        for e in (self.scope(ex) if in_scope is None else in_scope):
            if e.covers_failure(ex, details):
                self.matched_counts[e.id] += 1
                return e
        return None
