"""The meta-tests' shared suite run over the planted targets (:mod:`planted`)."""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:  # the faulty.* modules and the planted helper
    sys.path.insert(0, HERE)

import planted  # noqa: E402


@pytest.fixture(scope="session")
def planted_run(request, tmp_path_factory):
    """One run of the suite for every ``planted(target, selection)`` mark among the session's tests
    (they share an xdist group, so one worker runs them all, and this once)."""
    selections: dict[str, list[str]] = {}
    for item in request.session.items:
        for mark in item.iter_markers("planted"):
            target, selection = mark.args
            if selection not in selections.setdefault(target, []):
                selections[target].append(selection)
    joined = {t: " or ".join(f"({s})" for s in sels) for t, sels in selections.items()}
    names = sorted(joined)
    clash = [(a, b) for a in names for b in names if a != b and a in b]
    assert not clash, f"a planted target's name is part of another's, so -k cannot tell them apart: {clash}"
    return planted.run(joined, str(tmp_path_factory.mktemp("planted-records")))
