"""Compare two snapshots case by case against the cross-machine contract.

**The contract** (holds on any machine, so every change to it is a regression-class change):

* ``acceptance``: accepted / rejected / raising, per dtype: a valid case or a property that now
  raises (a dtype-specific RuntimeError), or an invalid call now accepted, and the reverse;
* ``error_type``: rejected in both, with another exception type (``except ValueError`` code breaks);
* ``shape``: a different output shape;
* ``values``: a different exact-mode digest on the same operands (any summation order gives those bit
  for bit, at 1 and at N threads), or a float result that now exceeds (or no longer exceeds) the
  rounding bound;
* ``coverage``: different skipped / bias-only cells in any dtype, or NaN / Inf that now reaches them
  (or no longer does), a finding's pinned call included;
* ``missing``: a case OLD checked that NEW did not.

**Hardware-dependent, informational**: the share of the bound used. The bound covers every summation
order; which order runs depends on the CPU (ISA, oneDNN kernel), the thread count and numpy's BLAS.
So movement inside the bound is never a regression: ``precision`` lists it when both snapshots
ran on the same hardware class (then it is the library's doing), and across hardware classes it is
only counted in a note. Also informational: ``message`` (same exception type, other text),
``operands`` (exact-mode operands differ, digests not comparable), ``added`` (only NEW checked it)
and ``ignored`` (a change an ignore file accepts, with its reason).

Each change carries a ``direction``: ``regression`` (now disagrees with the oracle), ``fix`` (now
agrees) or ``change`` (neither). A fix is still listed: code may rely on the old behaviour.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field

from ..definition.case import Case
from .mismatch_names import MismatchName, parse as parse_mismatch

REGRESSION_CLASSES = {
    "acceptance": "acceptance / error changed",
    "error_type": "error type changed",
    "shape": "shape changed",
    "values": "values changed (exact digest, or beyond the rounding bound)",
    "coverage": "coverage changed (skipped / bias-only cells, NaN / Inf reaching them)",
    "missing": "not checked in NEW",
}
INFORMATIONAL_CLASSES = {
    "precision": "precision drift inside the bound (same hardware)",
    "message": "message changed",
    "operands": "operands changed (digests not comparable)",
    "added": "only checked in NEW",
    "ignored": "accepted by the ignore file",
}
CLASSES = {**REGRESSION_CLASSES, **INFORMATIONAL_CLASSES}
DIRECTIONS = ("regression", "fix", "change")

#: environment fields every report shows, changed or not
KEY_ENVIRONMENT = ("torch_version", "build", "torch_cuda", "cudnn_version", "onednn", "mkl", "cpu_capability",
                   "mkldnn_enabled", "cudnn_allow_tf32", "gpu", "numpy", "python", "conv_oracle")


@dataclass(frozen=True)
class Thresholds:
    """Precision drift (informational, same hardware only): the share of the rounding bound used
    moved by more than ``ratio`` times **and** by more than ``floor`` (in units of the bound). Inside
    the bound any share is legal; doubling and gaining a tenth of the bound hints at another algorithm.
    A share above 1 fails the property and is a ``values`` change."""

    ratio: float = 2.0
    floor: float = 0.1

    def drifted(self, old: float, new: float) -> bool:
        return new > old * self.ratio and new - old > self.floor


@dataclass
class Change:
    """One class of change in one case, with the details that make it up. ``behaviours`` are short
    phrases ("bfloat16: now NaN/Inf reaches bias-only cells") that the report's summary groups."""

    cls: str
    id: str
    label: str
    call: str
    details: list[str] = field(default_factory=list)
    direction: str = "change"
    feature: str = ""
    behaviours: list[str] = field(default_factory=list)
    ignored_by: str | None = None

    @property
    def regression(self) -> bool:
        return self.cls in REGRESSION_CLASSES


@dataclass
class Comparison:
    """The outcome of :func:`compare`."""

    old: dict
    new: dict
    thresholds: Thresholds
    compared: int
    changes: list[Change]
    environment: list[tuple[str, object, object]]
    notes: list[str]
    same_hardware: bool = False
    hardware: tuple = (None, None)
    moved_across_hardware: int = 0

    def regressions(self) -> list[Change]:
        return [c for c in self.changes if c.regression]

    @property
    def exit_code(self) -> int:
        return 1 if self.regressions() else 0

    def by_class(self) -> dict[str, list[Change]]:
        groups = {cls: [] for cls in CLASSES}
        for c in self.changes:
            groups[c.cls].append(c)
        return groups

    def to_dict(self) -> dict:
        groups = self.by_class()
        return {"schema": "conv-oracle-comparison", "version": 2, "old": self.old, "new": self.new,
                "thresholds": asdict(self.thresholds), "compared": self.compared,
                "regression": bool(self.regressions()), "exit_code": self.exit_code,
                "same_hardware": self.same_hardware,
                "hardware": {"old": self.hardware[0], "new": self.hardware[1]},
                "bound_shares_moved_across_hardware": self.moved_across_hardware,
                "counts": {cls: len(v) for cls, v in groups.items()},
                "regression_classes": list(REGRESSION_CLASSES), "informational_classes": list(INFORMATIONAL_CLASSES),
                "environment": [{"field": k, "old": a, "new": b} for k, a, b in self.environment],
                "notes": self.notes,
                "changes": [asdict(c) | {"regression": c.regression} for c in self.changes]}


def _dtype_of(check: MismatchName | None, rec: dict) -> str:
    """The dtype a check ran in: its name's, else the case's exact-mode dtype, else float32."""
    return (check and check.dtype) or (rec.get("exact") or {}).get("dtype") or "float32"


def check_class(name: str, text: str = "") -> str:
    """The change class of a property check named in a record's ``mismatches`` (``text``: its message)."""
    check = parse_mismatch(name).check
    if check == "acceptance" or str(text).startswith("raised "):
        return "acceptance"
    if check == "output_shape":
        return "shape"
    if check in ("coverage", "pinned"):
        return "coverage"
    return "values"  # *_exact, exact@N, backward, and forward_<dtype> / grad_<wrt>_<dtype> beyond the bound


def phrase(name: str, text: str) -> str:
    """What a recorded mismatch means, in a few words (without dtype, threads or direction)."""
    m, t = parse_mismatch(name), str(text)
    if t.startswith("raised "):
        error = re.sub(r"(pad)[123]d\b", r"\1Nd", t[7:].replace(" on a valid configuration", ""))
        return f"raises {_short_error(error)}"
    if t.startswith("rejected a valid configuration"):
        return f"rejects the call ({_short_error(t.split(': ', 1)[-1])})"
    if t.startswith("accepted an invalid configuration"):
        rule = t.split("(", 1)[1].split(")", 1)[0] if "(" in t else "?"
        return f"accepts an invalid call ({rule})"
    if m.check == "pinned":
        return "NaN reaches the finding's cells that no input reaches"
    if m.check == "coverage":
        if "between 1 and" in t:
            return "coverage depends on the thread count"
        if "bias-only cell" in t and "NaN/Inf" in t:
            return "NaN/Inf reaches bias-only cells"
        if "skipped input pixels to" in t:
            return "NaN/Inf on skipped input pixels reaches the output"
        if t.startswith("bias-only cells observed"):
            return "bias-only cells are not exactly the bias"
        return "skipped input pixels differ from the definition"
    if m.check == "exact" and "threads" in t:
        return "exact results depend on the thread count"
    if m.exact or m.check == "backward":
        return "exact results disagree with the oracle"
    if m.check == "output_shape":
        return "output shape disagrees with the oracle"
    what = "gradients" if m.check == "grad" else "results"
    return f"{what} beyond the rounding bound"


def _short_error(error) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 90 else text[:89] + "…"


def feature(rec: dict) -> str:
    """The behaviour's subject for the summary: the operator and the options that select a code path."""
    c = rec.get("case") or {}
    op = c.get("op", "?")
    parts = [op]
    if c.get("padding_mode", "zeros") != "zeros":
        parts.append(f"{c['padding_mode']} padding")
    if isinstance(c.get("padding"), str):
        parts.append(f"padding='{c['padding']}'")
    if c.get("output_size"):
        parts.append("output_size")
    if rec.get("kind") == "invalid":
        parts.append(f"invalid call ({rec.get('rule')})")
    return " ".join(parts)


def _call(rec: dict) -> str:
    try:
        text = Case.from_dict(rec["case"]).describe()
    except Exception:  # a record from another conv_oracle version: show the raw configuration
        text = str(rec.get("case"))
    if rec.get("shapes"):
        s = rec["shapes"]
        text += f" with input{s['input']}, weight{s['weight']}, bias{s['bias']}"
    return text


def _outcome(rec: dict) -> str:
    if rec["outcome"] == "rejected":
        return f"rejected ({rec.get('error')})"
    if rec["outcome"] == "accepted" and rec.get("output_shape") is not None:
        return f"accepted (shape {tuple(rec['output_shape'])})"
    return rec["outcome"]


def _head(text: str, limit: int = 200) -> str:
    """The first line of a recorded mismatch (what differed; the lines after it are detail)."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    head = lines[0] if lines else ""
    return head if len(head) <= limit else head[: limit - 1] + "…"


def _error_type(error) -> str:
    return str(error).split(":", 1)[0]


def _mask(m: dict | None) -> str:
    if m is None:
        return "none"
    return f"{m['count']} cells {m['per_dim']}" if m.get("separable", True) else f"{m['count']} cells {m.get('cells')}"


class _Collector:
    def __init__(self, rec: dict):
        self.rec = rec
        self.found: dict[str, list[str]] = defaultdict(list)
        self.direction: dict[str, str] = {}
        self.behaviours: dict[str, list[str]] = defaultdict(list)

    def add(self, cls: str, detail: str, direction: str = "change", behaviour: str | None = None):
        self.found[cls].append(detail)
        old = self.direction.get(cls, "change")
        self.direction[cls] = min(old, direction, key=DIRECTIONS.index)
        if behaviour and behaviour not in self.behaviours[cls]:
            self.behaviours[cls].append(behaviour)

    def changes(self) -> list[Change]:
        return [Change(cls, self.rec["id"], self.rec["label"], _call(self.rec), details, self.direction[cls],
                       feature(self.rec), self.behaviours.get(cls, []))
                for cls, details in sorted(self.found.items(), key=lambda kv: list(CLASSES).index(kv[0]))]


def _behaviour(dtype: str, text: str, direction: str, threads: bool = False) -> str:
    if direction == "fix" and text.startswith("raises "):
        text = f"now supported (before: {text.removeprefix('raises ')})"
    else:
        text = {"regression": "now ", "fix": "no longer "}.get(direction, "") + text
    return f"{dtype}: {text}{' (at N threads)' if threads else ''}"


def compare_case(o: dict, n: dict, th: Thresholds, same_hardware: bool = True) -> tuple[list[Change], int]:
    """What changed between two records of the same case, and how many bound shares moved inside
    the bound across hardware (counted, not listed)."""
    out = _Collector(n)
    if o["outcome"] != n["outcome"]:
        if n["outcome"] == "unsupported":
            out.add("missing", f"not run by NEW's target: {n.get('reason')}")
        elif o["outcome"] == "unsupported":
            out.add("added", f"not run by OLD's target ({o.get('reason')}); NEW: {_outcome(n)}")
        else:
            correct = "accepted" if o["kind"] == "valid" else "rejected"
            direction = "fix" if n["outcome"] == correct else "regression"
            dt = _dtype_of(None, n)
            if o["kind"] == "valid":
                b = (f"{dt}: now supported" if direction == "fix"
                     else f"{dt}: now rejects valid calls ({_short_error(n.get('error'))})")
            else:
                b = (f"{dt}: now rejects the invalid call" if direction == "fix"
                     else f"{dt}: now accepts the invalid call")
            out.add("acceptance", f"{_outcome(o)} -> {_outcome(n)}", direction, b)
        return out.changes(), 0
    if o["outcome"] == "unsupported":
        return [], 0
    if o["kind"] == "invalid":
        _invalid(o, n, out)
        return out.changes(), 0
    if o["outcome"] == "rejected":
        _rejection(o.get("error"), n.get("error"), "float32", out)
        return out.changes(), 0
    _verdicts(o, n, out)
    if o.get("output_shape") != n.get("output_shape"):
        out.add("shape", f"output shape {o.get('output_shape')} -> {n.get('output_shape')}")
    _exact(o, n, out)
    moved = _precision(o.get("bound_share"), n.get("bound_share"), th, out, same_hardware, "")
    ot, nt = o.get("threads") or {}, n.get("threads") or {}
    if ot and nt:
        moved += _precision(ot.get("bound_share"), nt.get("bound_share"), th, out,
                            same_hardware and ot.get("n") == nt.get("n"), f" at {nt.get('n')} threads",
                            missing_is_change=False)
    oc, nc = o.get("coverage") or {}, n.get("coverage") or {}
    for dt in sorted(set(oc) & set(nc)):
        om, nm = (oc[dt] or {}).get("observed"), (nc[dt] or {}).get("observed")
        if om is not None and nm is not None and om != nm:
            out.add("coverage", f"{dt} observed {nc[dt].get('property')}: {_mask(om)} -> {_mask(nm)}",
                    behaviour=f"{dt}: observed skipped / bias-only cells changed")
    op_, np_ = o.get("pinned") or {}, n.get("pinned") or {}
    for dt in sorted(set(op_) & set(np_)):
        a, b = op_[dt] or {}, np_[dt] or {}
        if a.get("output") != b.get("output") and "untouched_exact" in a and a.get("untouched_exact") == \
                b.get("untouched_exact"):
            out.add("values", f"{dt} the finding's pinned call: output digest {a.get('output')} -> {b.get('output')}",
                    behaviour=f"{dt}: the finding's pinned call gives other values")
    return out.changes(), moved


def _rejection(old_error, new_error, dt: str, out: _Collector) -> None:
    if _error_type(old_error) != _error_type(new_error):
        out.add("error_type", f"{dt}: {old_error} -> {new_error}", "change",
                f"{dt}: raises {_error_type(new_error)} instead of {_error_type(old_error)}")
    elif old_error != new_error:
        out.add("message", f"{dt}: {old_error} -> {new_error}")


def _invalid(o: dict, n: dict, out: _Collector) -> None:
    """An invalid call, per dtype: acceptance and error type (float32 in the top-level fields)."""
    sides = [("float32", {"outcome": o["outcome"], "error": o.get("error")},
              {"outcome": n["outcome"], "error": n.get("error")})]
    ob, nb = o.get("by_dtype") or {}, n.get("by_dtype") or {}
    sides += [(dt, ob[dt], nb[dt]) for dt in sorted(set(ob) & set(nb))]
    for dt in sorted(set(nb) - set(ob)):
        out.add("added", f"{dt}: only checked in NEW")
    for dt in sorted(set(ob) - set(nb)):
        out.add("missing", f"{dt}: not checked in NEW")
    for dt, a, b in sides:
        if a["outcome"] != b["outcome"]:
            direction = "fix" if b["outcome"] == "rejected" else "regression"
            out.add("acceptance", f"{dt}: {a['outcome']} ({a.get('error')}) -> {b['outcome']} ({b.get('error')})",
                    direction, f"{dt}: now {'rejects' if direction == 'fix' else 'accepts'} the invalid call")
        elif a["outcome"] == "rejected":
            _rejection(a.get("error"), b.get("error"), dt, out)


def _verdicts(o: dict, n: dict, out: _Collector) -> None:
    om, nm = o.get("mismatches", {}), n.get("mismatches", {})
    for name in sorted(set(om) | set(nm)):
        check = parse_mismatch(name)
        dt, threads = _dtype_of(check, n), check.threads
        if name in om and name not in nm:
            cls = check_class(name, om[name])
            out.add(cls, f"{name}: now agrees with the oracle (OLD: {_head(om[name])})", "fix",
                    _behaviour(dt, phrase(name, om[name]), "fix", threads))
        elif name in nm and name not in om:
            cls = check_class(name, nm[name])
            out.add(cls, f"{name}: now disagrees with the oracle: {_head(nm[name])}", "regression",
                    _behaviour(dt, phrase(name, nm[name]), "regression", threads))
        elif om[name] != nm[name]:
            oc, nc = check_class(name, om[name]), check_class(name, nm[name])
            if oc != nc:  # e.g. raised before, a wrong value now: a different failure, not a rewording
                out.add(nc, f"{name}: fails differently: {_head(om[name])} -> {_head(nm[name])}", "change",
                        _behaviour(dt, phrase(name, nm[name]) + f" (before: {phrase(name, om[name])})", "change",
                                   threads))
            else:
                out.add("message", f"{name}: still disagrees, reported differently: {_head(om[name])} -> "
                                   f"{_head(nm[name])}")


def _exact(o: dict, n: dict, out: _Collector) -> None:
    oe, ne = o.get("exact"), n.get("exact")
    if not oe or not ne:
        return
    if (oe.get("operands"), oe.get("dtype")) != (ne.get("operands"), ne.get("dtype")):
        out.add("operands", f"exact-mode operands differ ({oe.get('dtype')} {oe.get('operands')} -> "
                            f"{ne.get('dtype')} {ne.get('operands')}): output digests not comparable")
        return
    for key in sorted((set(oe) | set(ne)) - {"dtype", "operands"}):
        if oe.get(key) != ne.get(key):
            out.add("values", f"{key} digest {oe.get(key)} -> {ne.get(key)} (same operands)", "change",
                    f"{oe.get('dtype')}: exact {key.replace('_', ' ')} changed")


def _precision(os_, ns, th: Thresholds, out: _Collector, same_hardware: bool, where: str,
               missing_is_change: bool = True) -> int:
    """Bound shares: listed as drift on the same hardware; across hardware only counted (returned)."""
    os_, ns = os_ or {}, ns or {}
    moved = 0
    for dt in sorted(set(os_) | set(ns)):
        for key in sorted(set(os_.get(dt, {})) | set(ns.get(dt, {}))):
            if key not in ns.get(dt, {}):
                if missing_is_change:
                    out.add("missing", f"{dt} {key}{where}: not checked in NEW")
                continue
            if key not in os_.get(dt, {}):
                if missing_is_change:
                    out.add("added", f"{dt} {key}{where}: only checked in NEW")
                continue
            a, b = os_[dt][key], ns[dt][key]
            if a is None or b is None or a == b:
                continue  # None: the property failed on one side, which its verdict reports
            if not same_hardware:
                moved += 1
            elif th.drifted(a, b) or th.drifted(b, a):
                out.add("precision", f"{dt} {key}{where}: {a:.3g} -> {b:.3g} of the rounding bound")
    return moved


def _header(snap: dict) -> dict:
    return {k: snap[k] for k in ("target", "environment", "corpus", "summary", "created", "hardware_class",
                                 "migrated_from") if k in snap}


def hardware_note(old: dict, new: dict) -> tuple[bool, str]:
    """Whether both snapshots ran on the same hardware class, and what that means, in one sentence."""
    a, b = old.get("hardware_class"), new.get("hardware_class")
    if a is None or b is None:
        which = "OLD" if a is None else "NEW"
        return False, (f"{which} records no machine (a schema-v1 baseline): its hardware is unknown, so only the "
                       f"cross-machine contract is compared and bound shares moving inside the bound are not")
    if a != b:
        return False, (f"different hardware: OLD ran on `{a}`, NEW on `{b}`. Summation order (and so the share of "
                       f"the rounding bound used) depends on the CPU's kernels, so bound shares are not compared; "
                       f"the cross-machine contract (acceptance and errors, shapes, exact digests, skipped / "
                       f"bias-only cells in every dtype, within the bound) is, and any change in it is real")
    return True, (f"same hardware class (`{a}`): everything is compared, and bound shares that move inside the bound "
                  f"are listed as precision drift (informational)")


#: fingerprint facts outside the hardware class that still choose kernels or summation orders
FINGERPRINT_FACTS = (("CPU model", ("cpu", "model")), ("numpy BLAS", ("numpy", "blas")),
                     ("oneDNN", ("torch", "mkldnn", "version")), ("ISA environment", ("env",)))


def _fact(fp, path):
    for key in path:
        fp = fp.get(key) if isinstance(fp, dict) else None
    return fp


def fingerprint_note(old: dict, new: dict) -> str | None:
    """The kernel-relevant fingerprint facts that differ, and what that means (None when none do)."""
    a, b = old.get("fingerprint"), new.get("fingerprint")
    if not a or not b:
        return None
    differ = [f"{name} {_fact(a, path)!r} -> {_fact(b, path)!r}" for name, path in FINGERPRINT_FACTS
              if _fact(a, path) != _fact(b, path)]
    if not differ:
        return None
    return ("the fingerprints differ (" + "; ".join(differ) + "): these choose kernels and summation orders, so "
            "bound shares may move for that reason alone; the contract does not depend on them")


def compare(old: dict, new: dict, thresholds: Thresholds | None = None) -> Comparison:
    """Compare two validated snapshots (see :func:`~conv_oracle.baseline.schema.load`)."""
    th = thresholds or Thresholds()
    old_cases = {c["id"]: c for c in old["cases"]}
    new_cases = {c["id"]: c for c in new["cases"]}
    same_hw, hw_note = hardware_note(old, new)
    changes, compared, moved = [], 0, 0
    for cid, o in old_cases.items():
        if cid not in new_cases:
            changes.append(Change("missing", cid, o["label"], _call(o), ["not in NEW's corpus"], feature=feature(o)))
            continue
        compared += 1
        found, m = compare_case(o, new_cases[cid], th, same_hw)
        changes.extend(found)
        moved += m
    for cid, n in new_cases.items():
        if cid not in old_cases:
            changes.append(Change("added", cid, n["label"], _call(n), ["not in OLD's corpus"], feature=feature(n)))
    oe, ne = old["environment"], new["environment"]
    env = [(k, oe.get(k), ne.get(k)) for k in KEY_ENVIRONMENT if k in oe or k in ne]
    env += [(k, oe.get(k), ne.get(k)) for k in sorted(set(oe) | set(ne))
            if k not in KEY_ENVIRONMENT and oe.get(k) != ne.get(k)]
    env.append(("hardware_class", old.get("hardware_class"), new.get("hardware_class")))
    notes = [hw_note] + [n for n in (fingerprint_note(old, new),) if n]
    if moved:
        notes.append(f"{moved} bound share(s) moved inside the bound between the two machines: expected, not compared")
    only_old, only_new = len(set(old_cases) - set(new_cases)), len(set(new_cases) - set(old_cases))
    if old["corpus"]["digest"] != new["corpus"]["digest"] or only_old or only_new:
        notes.append(f"the corpora differ (OLD corpus v{old['corpus']['version']} {old['corpus']['digest']}, NEW "
                     f"v{new['corpus']['version']} {new['corpus']['digest']}; {only_old} case(s) only in OLD, "
                     f"{only_new} only in NEW): only common cases are compared")
    if old["target"]["name"] != new["target"]["name"]:
        notes.append(f"different targets: OLD {old['target']['name']!r}, NEW {new['target']['name']!r}")
    if compared == 0:
        notes.append("no case is common to both snapshots: nothing could be compared")
    return Comparison(_header(old), _header(new), th, compared, changes, env, notes, same_hw,
                      (old.get("hardware_class"), new.get("hardware_class")), moved)


def apply_ignores(cmp: Comparison, rules) -> Comparison:
    """Move the changes an ignore file accepts (by case id or class) into ``ignored``; returns ``cmp``."""
    used = set()
    for c in cmp.changes:
        for rule in rules:
            if rule.matches(c):
                c.ignored_by = f"{rule.pattern}: {rule.reason}"
                c.details = [f"was {c.cls}; accepted: {rule.reason}"] + c.details
                c.cls = "ignored"
                used.add(rule.pattern)
                break
    unused = [r.pattern for r in rules if r.pattern not in used]
    if unused:
        cmp.notes.append(f"ignore entries that matched no change (stale?): {', '.join(unused)}")
    return cmp
