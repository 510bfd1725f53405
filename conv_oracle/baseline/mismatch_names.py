"""The names of a baseline case's ``mismatches``: which check of the case disagreed with the oracle.

One grammar, written by :mod:`.snapshot` (:func:`build`) and read back by :mod:`.diff` (:func:`parse`)::

    NAME   = BASE [ "@N" ]                       "@N": the N-thread pass, whatever N was on the machine
    BASE   = "output_shape" | "backward" | "exact"
           | "acceptance" [ "_" DTYPE ]          rejected a valid case, or accepted an invalid call
           | "forward_" ( "exact" | DTYPE )      exact-mode operands, or float operands in DTYPE
           | "grad_" WRT "_" ( "exact" | DTYPE )
           | "coverage" [ "_" DTYPE ]            skipped / bias-only cells; without DTYPE: 1 vs N threads
           | "pinned" [ "_" DTYPE ]              a finding's explicit operands; likewise
    DTYPE  = "bfloat16" | "float16" | "float32" | "float64"
    WRT    = "input" | "weight" | "bias"

e.g. ``forward_exact``, ``grad_weight_float32``, ``coverage_bfloat16@N``, ``exact@N``, ``acceptance_float16``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..definition.dtypes import FLOAT_DTYPES

#: the suffix of a check run in the N-thread pass (``forward_float32@N``), whatever N is on the machine
THREADS_N = "N"
THREAD_SUFFIX = f"@{THREADS_N}"
#: the checks, each with the qualifiers its name takes
CHECKS = ("acceptance", "output_shape", "forward", "grad", "backward", "exact", "coverage", "pinned")
WRTS = ("input", "weight", "bias")
EXACT = "exact"  # forward / grad on exact-mode (small-integer) operands
_TAKES_DTYPE = ("acceptance", "coverage", "pinned")   # optionally
_TAKES_MODE = ("forward", "grad")                     # exactly one of exact / a dtype
_BARE = ("output_shape", "backward", "exact")


class MismatchNameError(ValueError):
    """A name outside the grammar (a hand-edited or foreign baseline); the message says which and why."""

    def __init__(self, name: str, problem: str):
        self.name, self.problem = name, problem
        super().__init__(f"{name!r} is not a mismatch name: {problem} "
                         f"(the grammar: conv_oracle.baseline.mismatch_names)")


@dataclass(frozen=True)
class MismatchName:
    """One check of a case: ``check`` (one of :data:`CHECKS`), the ``dtype`` its name carries (None where it
    carries none), ``wrt`` (grad only), ``exact`` (forward / grad on exact-mode operands) and ``threads``
    (run in the N-thread pass)."""

    check: str
    dtype: str | None = None
    wrt: str | None = None
    exact: bool = False
    threads: bool = False

    def __post_init__(self):
        problem = _problem(self)
        if problem:
            raise MismatchNameError(_text(self), problem)

    def __str__(self) -> str:
        return _text(self)

    @property
    def name(self) -> str:
        return _text(self)


def _text(m: MismatchName) -> str:
    parts = [m.check] + ([m.wrt] if m.wrt else []) + ([EXACT] if m.exact else []) + ([m.dtype] if m.dtype else [])
    return "_".join(parts) + (THREAD_SUFFIX if m.threads else "")


def _problem(m: MismatchName) -> str | None:
    if m.check not in CHECKS:
        return f"unknown check {m.check!r} (one of {', '.join(CHECKS)})"
    if m.dtype is not None and m.dtype not in FLOAT_DTYPES:
        return f"unknown dtype {m.dtype!r} (one of {', '.join(FLOAT_DTYPES)})"
    if m.check == "grad" and m.wrt is None:
        return f"grad names its gradient (grad_<{'|'.join(WRTS)}>_...)"
    if m.check != "grad" and m.wrt is not None:
        return f"{m.check} names no gradient"
    if m.wrt is not None and m.wrt not in WRTS:
        return f"unknown gradient {m.wrt!r} (one of {', '.join(WRTS)})"
    if m.check in _TAKES_MODE and m.exact == (m.dtype is not None):
        return f"{m.check} takes exactly one of 'exact' and a dtype"
    if m.check not in _TAKES_MODE and m.exact:
        return f"{m.check} takes no 'exact'"
    if m.check in _BARE and m.dtype is not None:
        return f"{m.check} takes no dtype"
    return None


def build(check: str, dtype: str | None = None, wrt: str | None = None, exact: bool = False,
          threads: bool = False) -> str:
    """The name of one check; raises :class:`MismatchNameError` for a combination :func:`parse` would refuse."""
    return MismatchName(check, dtype, wrt, exact, threads).name


def parse(name: str) -> MismatchName:
    """The check a name stands for; :class:`MismatchNameError` (a ValueError) for anything else."""
    if not isinstance(name, str) or not name:
        raise MismatchNameError(str(name), "empty or not a string")
    base, at, suffix = name.partition("@")
    if at and suffix != THREADS_N:
        raise MismatchNameError(name, f"the only suffix is {THREAD_SUFFIX!r} (the N-thread pass), not '@{suffix}'")
    threads = bool(at)
    if base == "output_shape":
        return MismatchName("output_shape", threads=threads)
    check, *rest = base.split("_")
    if check not in CHECKS:
        raise MismatchNameError(name, f"unknown check {check!r} (one of {', '.join(CHECKS)})")
    wrt = rest.pop(0) if check == "grad" and rest else None
    exact = bool(rest) and rest[0] == EXACT and check in _TAKES_MODE
    if exact:
        rest.pop(0)
    if len(rest) > 1:
        raise MismatchNameError(name, f"unexpected {'_'.join(rest)!r} after {check!r}")
    dtype = rest[0] if rest else None
    try:
        return MismatchName(check, dtype, wrt, exact, threads)
    except MismatchNameError as exc:
        raise MismatchNameError(name, exc.problem) from None
