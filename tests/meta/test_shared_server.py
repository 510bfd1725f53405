"""The fork server is shared by the targets with one ``env`` (one torch import for all of them), and
each target's worker stays its own: its own process, its target's imports, its crashes."""

import os
import signal

import pytest

from conv_oracle.checks import isolation
from conv_oracle.checks.failure_kinds import FailureKind
from conv_oracle.machine import processes
from conv_oracle.targets import load_target

pytestmark = pytest.mark.meta

HERE = os.path.dirname(os.path.abspath(__file__))


def _probe(target):
    import torch
    return {"pid": os.getpid(), "server": os.getppid(), "mkldnn": torch.backends.mkldnn.enabled}


def _crash(target):
    os.kill(os.getpid(), signal.SIGSEGV)


def _servers() -> list[int]:
    found = []
    for pid in processes.children():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if b"conv_oracle.checks.isolation" in fh.read():
                    found.append(pid)
        except OSError:
            pass
    return found


class _ByName:
    """A target as the supervisor sees it, loaded only in its worker (its import would change this process)."""

    threads, env = None, {}

    def __init__(self, name):
        self.name = name


@pytest.fixture
def two_targets(monkeypatch):
    monkeypatch.syspath_prepend(HERE)
    isolation._MODULES.add(__name__)
    isolation.shutdown()
    before = set(_servers())
    workers = isolation.Worker(load_target("torch")), isolation.Worker(_ByName("faulty.patches_torch_at_import"))
    yield workers, before
    for worker in workers:
        worker.stop()
    isolation.shutdown()


def test_targets_with_one_env_share_a_fork_server_but_not_a_worker(two_targets):
    (plain, patched), before = two_targets
    assert plain.server is patched.server
    first = plain.request(_probe, (), {}, 120.0)[1]
    other = patched.request(_probe, (), {}, 120.0)[1]
    again = plain.request(_probe, (), {}, 120.0)[1]
    assert set(_servers()) - before == {plain.server.proc.pid}, "one fork server for both targets"
    assert first["server"] == other["server"] == plain.server.proc.pid
    assert first["pid"] != other["pid"] and again["pid"] == first["pid"], (first, other, again)
    # the patching target's import ran in its own worker only
    assert other["mkldnn"] is False and first["mkldnn"] is True and again["mkldnn"] is True


def test_two_workers_of_one_target_are_two_processes(two_targets):
    """Two supervisors of one target name (e.g. a thread pin apart) never share a worker: a hang or a
    retirement of one cannot reach the other."""
    (plain, _), _ = two_targets
    twin = isolation.Worker(load_target("torch"))
    try:
        assert twin.server is plain.server
        assert plain.request(_probe, (), {}, 120.0)[1]["pid"] != twin.request(_probe, (), {}, 120.0)[1]["pid"]
        assert twin.pid is not None and plain.pid is not None
    finally:
        twin.stop()


def test_a_crash_replaces_only_the_crashing_targets_worker(two_targets):
    (plain, patched), _ = two_targets
    first = plain.request(_probe, (), {}, 120.0)[1]
    patched.request(_probe, (), {}, 120.0)
    with pytest.raises(isolation._Died) as died:
        patched.request(_crash, (), {}, 120.0)
    assert died.value.kind is FailureKind.CRASH and "SIGSEGV" in str(died.value)
    assert plain.request(_probe, (), {}, 120.0)[1]["pid"] == first["pid"], "the other target's worker survived"
    assert patched.request(_probe, (), {}, 120.0)[1]["pid"] != first["pid"]


def test_retiring_one_worker_keeps_the_other_and_the_server_stops_with_its_last_user(two_targets):
    (plain, patched), before = two_targets
    first = plain.request(_probe, (), {}, 120.0)[1]
    old = patched.request(_probe, (), {}, 120.0)[1]
    patched.retire()
    assert patched.request(_probe, (), {}, 120.0)[1]["pid"] != old["pid"]
    assert plain.request(_probe, (), {}, 120.0)[1]["pid"] == first["pid"]
    server = plain.server.proc
    plain.stop()
    assert server.poll() is None, "the server stays while a target still uses it"
    patched.stop()
    assert server.poll() is not None and set(_servers()) == before
    assert not os.path.exists(f"/proc/{first['pid']}"), "the server killed and reaped its workers"


def test_targets_with_different_envs_get_their_own_servers(two_targets, monkeypatch):
    (plain, _), _ = two_targets
    class Env(_ByName):  # a target like torch, with an environment of its own
        env = {"CONV_ORACLE_TEST_MARK": "1"}
    worker = isolation.Worker(Env("torch"))
    try:
        assert worker.server is not plain.server
    finally:
        worker.stop()


def _fresh_imports(target):
    """What a fresh worker holds before its first call (of the modules this torch has), then whether an
    event loaded Hypothesis."""
    import importlib.util
    import sys

    from conv_oracle.checks.comparison import event
    held = {m: m in sys.modules for m in isolation.WORKER_IMPORTS if importlib.util.find_spec(m) is not None}
    event("a statistic no test collects here")
    return held, "hypothesis" in sys.modules


def test_a_fresh_worker_has_what_its_first_calls_import_and_no_hypothesis(two_targets):
    """Each crash forks a fresh worker, so what a first call imports lazily (torch's symbolic shapes with
    sympy, ~0.5 CPU-s) is imported once in the fork server instead; an event outside a Hypothesis test
    does not import Hypothesis into a worker either."""
    (plain, _), _ = two_targets
    held, hypothesis_loaded = plain.request(_fresh_imports, (), {}, 120.0)[1]
    assert held == {m: True for m in held}
    assert "torch.fx.experimental.symbolic_shapes" in held  # torch 2.13's backward imports it
    assert hypothesis_loaded is False


def test_a_crash_left_by_an_earlier_call_is_told_apart_from_a_calls_own():
    """A call that damages its worker leaves the crash to a later call of another configuration (the planted
    target remembers its first input shape and dies on another): the crash is rerun alone in a fresh worker,
    where it passes, and the failure says so and names the crashed worker's last call. A crash of the call's
    own (the planted segfault's dilated kernel) crashes again alone."""
    from conv_oracle.checks import properties
    from conv_oracle.checks.operands import make_operands
    from conv_oracle.definition.case import Case

    def forward(target, case):
        properties.forward(target, case, make_operands(case, "exact", 0, 3), "float64")

    first, other = Case("conv", 2, 1, 1, 1, 1, (3, 3), (1, 1)), Case("conv", 2, 1, 1, 1, 1, (4, 4), (1, 1))
    target = load_target("faulty.corrupts_later_calls")
    try:
        forward(target, first)
        with pytest.raises(AssertionError) as crash:
            forward(target, other)
        text = str(crash.value)
        assert crash.value.details["kind"] == "crash" and crash.value.details["crash_alone"] is False
        assert "conv2d(input[1, 1, 4, 4]" in text  # the configuration that crashed, as before
        assert "run alone in a fresh worker the same call did not crash (it passed)" in text
        assert "had answered 1 call(s); the last: forward of conv2d(input[1, 1, 3, 3]" in text
        after = crash.value.details["crash_after"]  # what a deviation entry scopes the earlier call by
        assert after["property"] == "forward_exact" and after["case"] == first.to_dict()
        assert after["dtype"] == "float64" and after["path"]["backend"]
    finally:
        isolation.supervisor(target).close()
    segfault = load_target("faulty.segfault")
    try:
        forward(segfault, first)
        dilated = Case("conv", 2, 1, 1, 1, 1, (5, 5), (2, 2), dilation=2)
        with pytest.raises(AssertionError) as own:
            forward(segfault, dilated)
        assert own.value.details["crash_alone"] is True and "crash_after" not in own.value.details
        assert "(it crashed again when run alone in a fresh worker)" in str(own.value)
    finally:
        isolation.supervisor(segfault).close()
