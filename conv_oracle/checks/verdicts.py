"""The verdict of one checked example: the four values a record's ``verdict`` takes, defined once.

The properties write ``not checkable`` (:func:`conv_oracle.checks.properties._refused`), the harness
writes the other three (:mod:`conv_oracle.harness.records`, :mod:`conv_oracle.harness.pytest_plugin`);
the report, the ISA matrix and the CLI read them. Every one of them names a member here, never the
string. A str-Enum: a member equals, hashes and serialises as its value, so ``records.jsonl`` holds
the same strings as before (``json.dumps(Verdict.PASS) == '"pass"'``) and a record read back from it
compares equal to the members.
"""

from __future__ import annotations

from enum import Enum


class Verdict(str, Enum):
    """What one example came to."""

    #: the target agreed with the oracle (bit for bit, or within the derived bound)
    PASS = "pass"
    #: the target disagreed, and no known deviation covers it: the test fails
    FAIL = "fail"
    #: the target disagreed as a known deviation describes (scope and failure kind): expected, not raised
    DEVIATION = "deviation"
    #: refused: no meaningful bound or probe exists for this example, so it is neither passed nor failed
    NOT_CHECKABLE = "not checkable"

    # the value, not ``Verdict.PASS``, wherever a member is printed (Python 3.10 to 3.12 alike)
    __str__ = str.__str__
    __format__ = str.__format__


#: the verdicts of examples that ran their check to a conclusion on the target (agreed or not)
JUDGED = frozenset({Verdict.PASS, Verdict.FAIL})
