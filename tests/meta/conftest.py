"""The meta-tests' shared suite run over the planted targets (:mod:`planted`): started in the
background as soon as collection ends, read by the ``planted_run`` fixture."""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:  # the faulty.* modules and the planted helper
    sys.path.insert(0, HERE)

import planted  # noqa: E402


def _selections(items) -> dict[str, str]:
    """Target -> the ``-k`` expression of its ``planted(target, selection)`` marks among ``items``."""
    found: dict[str, list[str]] = {}
    for item in items:
        for mark in item.iter_markers("planted"):
            target, selection = mark.args
            if selection not in found.setdefault(target, []):
                found[target].append(selection)
    names = sorted(found)
    clash = [(a, b) for a in names for b in names if a != b and a in b]
    if clash:
        raise pytest.UsageError(f"a planted target's name is part of another's, so -k cannot tell them apart: {clash}")
    return {t: " or ".join(f"({s})" for s in sels) for t, sels in found.items()}


def _folder(config) -> str:
    """A folder of this test run shared by its xdist workers (each has its own base temp below it)."""
    base = config._tmp_path_factory.getbasetemp()
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "planted-run"
    folder.mkdir(exist_ok=True)
    return str(folder)


def pytest_collection_finish(session):
    selections = _selections(session.items)
    if not selections:
        return
    folder = _folder(session.config)
    try:  # the first process (xdist worker) to get here starts the run
        os.close(os.open(os.path.join(folder, "started"), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return
    waiter = planted.start(selections, folder)
    session.config.add_cleanup(waiter.join)  # no process outlives the test run


@pytest.fixture(scope="session")
def planted_run(request):
    """The planted run's output, exit status and records (waits for it to end)."""
    return planted.result(_folder(request.config))
