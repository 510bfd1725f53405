"""What a failure looks like, as one closed vocabulary: every failing check names its kind in its
``details`` (``"kind"``), and a known deviation names the kinds it excuses, so an entry written for
one fault never excuses another fault in the same scope.

Values (the identifiers used in records and in known-deviation files):

=====================  =====================================================================
``wrong_value``        a finite value differs from the definition (or a mask of cells does)
``nonfinite``          NaN or Inf where the definition gives a finite value
``finite``             a finite value where the definition gives NaN or Inf
``wrong_shape``        the output's shape or dtype differs
``crash``              the target's process died (a signal, an abort)
``hang``               the call did not return within its limit (the timeout; a shorter one once
                       its test hung, or the process's hang budget was spent: :mod:`.bounds`)
``uninitialised``      two identical calls under different heap poisons differ
``accepted_invalid``   an invalid configuration was accepted
``rejected_valid``     a legal input was rejected (an exception on a valid configuration)
``wrong_error``        an invalid configuration was rejected with an exception the target does not declare,
                       or for another rule's reason (a message in torch's wording naming only other rules)
``modified_input``     the target wrote one of its operands (input, weight, bias)
``state_changed``      the call changed the process's torch state (threads, oneDNN on/off, CPU
                       capability, TF32 flags, default dtype, grad mode); the worker is replaced
``memory``             an allocation failed at the worker's memory limit (or the worker died
                       there), or the worker's resident memory grew past the bound per call
                       across a window of calls (a leak)
=====================  =====================================================================
"""

from __future__ import annotations

import math
from enum import Enum


class FailureKind(str, Enum):
    WRONG_VALUE = "wrong_value"
    NONFINITE = "nonfinite"
    FINITE = "finite"
    WRONG_SHAPE = "wrong_shape"
    CRASH = "crash"
    HANG = "hang"
    UNINITIALISED = "uninitialised"
    ACCEPTED_INVALID = "accepted_invalid"
    REJECTED_VALID = "rejected_valid"
    WRONG_ERROR = "wrong_error"
    MODIFIED_INPUT = "modified_input"
    STATE_CHANGED = "state_changed"
    MEMORY = "memory"


KINDS = tuple(k.value for k in FailureKind)

#: kinds only a valid call can show: they compare with a value or a shape the definition gives, or
#: are a rejection that is wrong only because the call is valid. An invalid call (one that breaks a
#: rule) shows ``accepted_invalid`` / ``wrong_error``, or what any call can (a crash, a hang...).
VALID_CALL_ONLY = frozenset({FailureKind.WRONG_VALUE.value, FailureKind.NONFINITE.value, FailureKind.FINITE.value,
                             FailureKind.WRONG_SHAPE.value, FailureKind.REJECTED_VALID.value})


def _finite(value) -> bool | None:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return None


def of_cells(cells) -> FailureKind:
    """The kind of a value failure from its differing cells (each ``{"expected", "got"}``): a finite
    value wrong anywhere makes it ``wrong_value``; otherwise NaN/Inf where a finite value is due makes
    it ``nonfinite``, a finite value where NaN/Inf is due ``finite``. No cells: ``wrong_value``."""
    kinds = set()
    for c in cells or ():
        e, g = _finite(c.get("expected")), _finite(c.get("got"))
        if e is None or g is None:
            kinds.add(FailureKind.WRONG_VALUE)
        elif e and not g:
            kinds.add(FailureKind.NONFINITE)
        elif g and not e:
            kinds.add(FailureKind.FINITE)
        else:
            kinds.add(FailureKind.WRONG_VALUE)
    for kind in (FailureKind.WRONG_VALUE, FailureKind.FINITE, FailureKind.NONFINITE):
        if kind in kinds:
            return kind
    return FailureKind.WRONG_VALUE


def of_details(details: dict | None) -> FailureKind:
    """The kind a failure's ``details`` name, or the one its cells imply."""
    kind = (details or {}).get("kind")
    if kind in KINDS:
        return FailureKind(kind)
    return of_cells((details or {}).get("cells"))
