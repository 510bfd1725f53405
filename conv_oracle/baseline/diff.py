"""Compare two snapshots case by case and group what changed.

Regression classes (any one makes ``conv-oracle compare`` exit 1):

* ``acceptance``: a case accepted in one and rejected in the other;
* ``error_type``: rejected in both, with a different exception type (``except ValueError`` code breaks);
* ``shape``: a different output shape;
* ``values``: a different digest of an exact-mode output or gradient on the same operands, or an
  exact-mode property that now disagrees (or now agrees) with the oracle;
* ``precision``: drift of the share of the rounding bound used (:class:`Thresholds`), or a float-mode
  property that now exceeds (or no longer exceeds) the bound;
* ``coverage``: different observed skipped / bias-only cells, or a coverage property that changed verdict;
* ``missing``: a case OLD checked that NEW did not (not in its corpus, or unsupported by its target).

Informational: ``message`` (same exception type, different text; a mismatch reported differently),
``precision_improved``, ``operands`` (exact-mode operands differ, so digests cannot be compared: a
different corpus or numpy random stream) and ``added`` (cases only NEW checked).

A change that makes a case agree with the oracle is still a change (code may rely on the old
behaviour); each carries a ``direction``: ``regression`` (now disagrees with the oracle), ``fix``
(now agrees) or ``change`` (neither).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field

from ..case import Case

REGRESSION_CLASSES = {
    "acceptance": "acceptance changed",
    "error_type": "error type changed",
    "shape": "shape changed",
    "values": "exact values changed",
    "precision": "precision drift",
    "coverage": "coverage changed",
    "missing": "not checked in NEW",
}
INFORMATIONAL_CLASSES = {
    "message": "message changed",
    "precision_improved": "precision improved",
    "operands": "operands changed (digests not comparable)",
    "added": "only checked in NEW",
}
CLASSES = {**REGRESSION_CLASSES, **INFORMATIONAL_CLASSES}
DIRECTIONS = ("regression", "fix", "change")

#: environment fields every report shows, changed or not
KEY_ENVIRONMENT = ("torch_version", "build", "torch_cuda", "cudnn_version", "onednn", "mkl", "cpu_capability",
                   "mkldnn_enabled", "cudnn_allow_tf32", "gpu", "numpy", "python", "conv_oracle")


@dataclass(frozen=True)
class Thresholds:
    """Precision drift: the share of the rounding bound used grew by more than ``ratio`` times **and**
    by more than ``floor`` (in units of the bound). The bound is a worst case over every summation
    order, so a share moving inside it is legal; doubling and gaining a tenth of the bound is an
    accuracy change worth a look (a different algorithm), not summation-order noise. A share above 1
    is a mismatch, reported as such."""

    ratio: float = 2.0
    floor: float = 0.1

    def drifted(self, old: float, new: float) -> bool:
        return new > old * self.ratio and new - old > self.floor


@dataclass
class Change:
    """One class of change in one case, with the details that make it up."""

    cls: str
    id: str
    label: str
    call: str
    details: list[str] = field(default_factory=list)
    direction: str = "change"

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
        return {"schema": "conv-oracle-comparison", "version": 1, "old": self.old, "new": self.new,
                "thresholds": asdict(self.thresholds), "compared": self.compared,
                "regression": bool(self.regressions()), "exit_code": self.exit_code,
                "counts": {cls: len(v) for cls, v in groups.items()},
                "regression_classes": list(REGRESSION_CLASSES), "informational_classes": list(INFORMATIONAL_CLASSES),
                "environment": [{"field": k, "old": a, "new": b} for k, a, b in self.environment],
                "notes": self.notes,
                "changes": [asdict(c) | {"regression": c.regression} for c in self.changes]}


def check_class(name: str) -> str:
    """The change class of a property check named in a record's ``mismatches``."""
    if name == "acceptance":
        return "acceptance"
    if name == "output_shape":
        return "shape"
    if name.endswith("_exact") or name == "backward":
        return "values"
    if name == "coverage":
        return "coverage"
    return "precision"  # forward_<dtype>, grad_<wrt>_<dtype>


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

    def add(self, cls: str, detail: str, direction: str = "change"):
        self.found[cls].append(detail)
        old = self.direction.get(cls, "change")
        self.direction[cls] = min(old, direction, key=DIRECTIONS.index)

    def changes(self) -> list[Change]:
        return [Change(cls, self.rec["id"], self.rec["label"], _call(self.rec), details, self.direction[cls])
                for cls, details in sorted(self.found.items(), key=lambda kv: list(CLASSES).index(kv[0]))]


def compare_case(o: dict, n: dict, th: Thresholds) -> list[Change]:
    """What changed between two records of the same case."""
    out = _Collector(n)
    if o["outcome"] != n["outcome"]:
        if n["outcome"] == "unsupported":
            out.add("missing", f"not run by NEW's target: {n.get('reason')}")
        elif o["outcome"] == "unsupported":
            out.add("added", f"not run by OLD's target ({o.get('reason')}); NEW: {_outcome(n)}")
        else:
            correct = "accepted" if o["kind"] == "valid" else "rejected"
            out.add("acceptance", f"{_outcome(o)} -> {_outcome(n)}",
                    "fix" if n["outcome"] == correct else "regression")
        return out.changes()
    if o["outcome"] == "unsupported":
        return []
    if o["outcome"] == "rejected":
        if _error_type(o.get("error")) != _error_type(n.get("error")):
            out.add("error_type", f"{o.get('error')} -> {n.get('error')}")
        elif o.get("error") != n.get("error"):
            out.add("message", f"{o.get('error')} -> {n.get('error')}")
        return out.changes()
    _verdicts(o, n, out)
    if o.get("output_shape") != n.get("output_shape"):
        out.add("shape", f"output shape {o.get('output_shape')} -> {n.get('output_shape')}")
    _exact(o, n, out)
    _precision(o, n, th, out)
    oc, nc = (o.get("coverage") or {}).get("observed"), (n.get("coverage") or {}).get("observed")
    if oc is not None and nc is not None and oc != nc:
        out.add("coverage", f"observed {(n.get('coverage') or {}).get('property')}: {_mask(oc)} -> {_mask(nc)}")
    return out.changes()


def _verdicts(o: dict, n: dict, out: _Collector) -> None:
    om, nm = o.get("mismatches", {}), n.get("mismatches", {})
    for name in sorted(set(om) | set(nm)):
        cls = check_class(name)
        if name in om and name not in nm:
            out.add(cls, f"{name}: now agrees with the oracle (OLD: {_head(om[name])})", "fix")
        elif name in nm and name not in om:
            out.add(cls, f"{name}: now disagrees with the oracle: {_head(nm[name])}", "regression")
        elif om[name] != nm[name]:
            out.add("message", f"{name}: still disagrees, reported differently: {_head(om[name])} -> {_head(nm[name])}")


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
            out.add("values", f"{key} digest {oe.get(key)} -> {ne.get(key)} (same operands)")


def _precision(o: dict, n: dict, th: Thresholds, out: _Collector) -> None:
    os_, ns = o.get("bound_share") or {}, n.get("bound_share") or {}
    for dt in sorted(set(os_) | set(ns)):
        for key in sorted(set(os_.get(dt, {})) | set(ns.get(dt, {}))):
            if key not in ns.get(dt, {}):
                out.add("missing", f"{dt} {key}: not checked in NEW")
                continue
            if key not in os_.get(dt, {}):
                out.add("added", f"{dt} {key}: only checked in NEW")
                continue
            a, b = os_[dt][key], ns[dt][key]
            if a is None or b is None:
                continue  # the property failed on one side: reported by its verdict
            if th.drifted(a, b):
                out.add("precision", f"{dt} {key}: {a:.3g} -> {b:.3g} of the rounding bound")
            elif th.drifted(b, a):
                out.add("precision_improved", f"{dt} {key}: {a:.3g} -> {b:.3g} of the rounding bound")


def _header(snap: dict) -> dict:
    return {k: snap[k] for k in ("target", "environment", "corpus", "summary", "created") if k in snap}


def compare(old: dict, new: dict, thresholds: Thresholds | None = None) -> Comparison:
    """Compare two validated snapshots (see :func:`~conv_oracle.baseline.schema.load`)."""
    th = thresholds or Thresholds()
    old_cases = {c["id"]: c for c in old["cases"]}
    new_cases = {c["id"]: c for c in new["cases"]}
    changes, compared = [], 0
    for cid, o in old_cases.items():
        if cid not in new_cases:
            changes.append(Change("missing", cid, o["label"], _call(o), ["not in NEW's corpus"]))
            continue
        compared += 1
        changes.extend(compare_case(o, new_cases[cid], th))
    for cid, n in new_cases.items():
        if cid not in old_cases:
            changes.append(Change("added", cid, n["label"], _call(n), ["not in OLD's corpus"]))
    oe, ne = old["environment"], new["environment"]
    env = [(k, oe.get(k), ne.get(k)) for k in KEY_ENVIRONMENT if k in oe or k in ne]
    env += [(k, oe.get(k), ne.get(k)) for k in sorted(set(oe) | set(ne))
            if k not in KEY_ENVIRONMENT and oe.get(k) != ne.get(k)]
    notes = []
    only_old, only_new = len(set(old_cases) - set(new_cases)), len(set(new_cases) - set(old_cases))
    if old["corpus"]["digest"] != new["corpus"]["digest"] or only_old or only_new:
        notes.append(f"the corpora differ (OLD corpus v{old['corpus']['version']} {old['corpus']['digest']}, NEW "
                     f"v{new['corpus']['version']} {new['corpus']['digest']}; {only_old} case(s) only in OLD, "
                     f"{only_new} only in NEW): only common cases are compared")
    if old["target"]["name"] != new["target"]["name"]:
        notes.append(f"different targets: OLD {old['target']['name']!r}, NEW {new['target']['name']!r}")
    if compared == 0:
        notes.append("no case is common to both snapshots: nothing could be compared")
    return Comparison(_header(old), _header(new), th, compared, changes, env, notes)
