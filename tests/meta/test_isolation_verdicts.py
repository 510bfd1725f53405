"""The verdicts of :mod:`conv_oracle.checks.isolation` without worker processes: the double call
(:func:`isolation.twice`, called in-process as the ``isolated`` wrapper does when isolation is off)
with targets that read back different values, change torch's state or fail to allocate; the failure
it raises; the supervisor's side of a call (:meth:`Supervisor.call`, with a stand-in worker); and the
small helpers (signal text, frames, memory deaths, the supervisors' cap). Fast and deterministic."""

import pickle
import signal
from unittest import mock

import numpy as np
import pytest

from conv_oracle.checks import bounds, isolation
from conv_oracle.checks.failure_kinds import FailureKind
from conv_oracle.checks.operands import Operands
from conv_oracle.definition.case import Case
from conv_oracle.machine import settings as settings_mod
from conv_oracle.machine import torch_state
from conv_oracle.targets import execution


class Target:
    """A target as ``twice`` and the supervisor see it: a name (and no env, no threads)."""

    def __init__(self, name="stub", env=None, threads=None):
        self.name, self.env, self.threads = name, env or {}, threads


CASE = Case(op="conv", nd=1, batch=1, in_channels=1, out_channels=1, groups=1, input_size=(3,),
            kernel_size=(1,), stride=(1,), padding=0, dilation=(1,), output_padding=0, output_size=None,
            padding_mode="zeros", bias=False)


def _example(wrt=None, ops=None):
    return isolation.Example(CASE, np.ones((1, 1, 3)), np.ones((1, 1, 1)), None, dtype="float64", wrt=wrt, ops=ops)


def reading(*runs, tail=None, result=None):
    """A property whose n-th call reads back the arrays ``runs[n]`` (each read as the target's result
    would be) and returns ``result`` (or the call's number); ``tail`` is called after the reads."""
    calls = []

    def prop(target, factor=1):
        calls.append(len(calls))
        for array in runs[min(len(calls), len(runs)) - 1]:
            execution.reads.append(np.asarray(array, dtype=np.float64) * factor)
        if tail is not None:
            tail(len(calls))
        return result if result is not None else len(calls)

    prop.calls = calls
    return prop


# ---- the double call ----------------------------------------------------------------------------

def test_the_same_reads_pass_with_the_first_runs_value():
    prop = reading([[1.0, 2.0], [[3.0]]])
    assert isolation.twice(prop, Target(), (), {}) == 1  # the first run's value
    assert prop.calls == [0, 1]
    assert execution.reads is None  # put back after each run


def test_without_reads_the_call_runs_once():
    calls = []
    assert isolation.twice(lambda t, a, b=2: calls.append((a, b)) or "v", Target(), (1,), {"b": 3}) == "v"
    assert calls == [(1, 3)]


def test_only_the_second_run_is_poisoned_each_time_with_a_fresh_pattern(monkeypatch):
    import contextlib
    state = {"poison": None}
    seen = []

    @contextlib.contextmanager
    def poisoned(byte):
        state["poison"] = byte
        try:
            yield
        finally:
            state["poison"] = None

    monkeypatch.setattr(isolation, "poisoned", poisoned)

    def prop(target):
        seen.append(state["poison"])
        execution.reads.append(np.zeros(1))

    isolation.twice(prop, Target(), (), {})
    isolation.twice(prop, Target(), (), {})
    assert seen[0] is None and seen[2] is None and None not in (seen[1], seen[3]) and seen[1] != seen[3]
    assert state["poison"] is None


def test_the_second_run_stops_after_as_many_reads_as_the_first():
    after = []

    def prop(target):
        execution.reads.append(np.zeros(2))
        try:
            execution.reads.append(np.zeros(2))
        except Exception:  # the stop is no Exception: a property cannot swallow it
            after.append("swallowed")
        after.append("after the reads")
        return "done"

    assert isolation.twice(prop, Target(), (), {}) == "done"
    assert after == ["after the reads"]
    reads = isolation._Reads(limit=2)
    reads.append(1)
    with pytest.raises(isolation._Enough):
        reads.append(2)
    assert list(reads) == [1, 2] and not issubclass(isolation._Enough, Exception)
    with pytest.raises(isolation._Enough):  # a property that swallowed the stop is stopped at its next read
        reads.append(3)
    unlimited = isolation._Reads()
    for i in range(5):
        unlimited.append(i)
    assert len(unlimited) == 5


def test_a_cell_that_differs_between_the_runs_is_uninitialised_memory():
    prop = reading([[1.0, 2.0], [[1.0, 2.0], [3.0, 4.0]]], [[1.0, 2.0], [[1.0, 2.0], [5.0, 9.0]]],
                   result={"path": {"kernel": "k"}})
    with pytest.raises(AssertionError) as failed:
        isolation.twice(prop, Target("odd"), (), {})
    message = ("array #2 read back from the target (shape [2, 2]) differs between two identical calls: "
               "uninitialised memory; first at (1, 0): 3.0 then 5.0")  # the first of two cells
    assert str(failed.value) == f"prop on target odd: {message}"
    details = failed.value.details
    assert details["kind"] == "uninitialised" and details["message"] == message
    assert details["path"] == {"kernel": "k"} and details["cells"] == []  # no example: no cells listed


def test_uninitialised_memory_is_reported_with_the_example():
    prop = reading([[0.0, 1.0, 2.0]], [[0.0, 1.0, 7.5]])
    with pytest.raises(AssertionError) as failed:
        isolation.twice(prop, Target(), (), {}, describe=lambda target, factor: _example())
    details = failed.value.details
    assert details["kind"] == "uninitialised" and details["what"] == "output"
    assert details["cells"] == [{"index": [2], "expected": None, "got": 2.0}]
    assert details["message"].startswith("[prop] array #1 read back") and "(2,): 2.0 then 7.5" in details["message"]


def _value_failure(kind="wrong_value"):
    exc = AssertionError("1 of 2 cells differ")
    exc.details = {"kind": kind, "message": "1 of 2 cells differ", "path": {"backend": "B"}}
    return exc


def _failing_first_run(error):
    def tail(run):
        if run == 1:
            raise error
    return tail


def test_a_value_failure_read_the_same_twice_gets_a_third_run_under_another_poison():
    """Stale memory can hold the same garbage in both runs: a value failure is not final until a third
    run, under another poison, reads the same as the first."""
    stale = reading([[1.0, 3e38]], [[1.0, 3e38]], [[1.0, -7.5]], tail=_failing_first_run(_value_failure()))
    with pytest.raises(AssertionError) as failed:
        isolation.twice(stale, Target(), (), {})
    assert len(stale.calls) == 3 and failed.value.details["kind"] == "uninitialised"
    assert failed.value.details["message"] == (f"array #1 read back from the target (shape [2]) "
                                               f"{isolation.UNINITIALISED_THIRD}; first at (1,): 3e+38 then -7.5")
    assert failed.value.details["path"] == {"backend": "B"}  # the first run's failure's
    wrong = reading([[1.0, 3e38]], tail=_failing_first_run(_value_failure("nonfinite")))
    with pytest.raises(AssertionError) as failed:  # three runs read the same: the value failure stands
        isolation.twice(wrong, Target(), (), {})
    assert len(wrong.calls) == 3 and failed.value.details["kind"] == "nonfinite"


@pytest.mark.parametrize("kind", ["wrong_shape", "rejected_valid", None])
def test_only_a_value_failure_gets_a_third_run(kind):
    prop = reading([[1.0]], tail=_failing_first_run(_value_failure(kind)))
    with pytest.raises(AssertionError) as failed:
        isolation.twice(prop, Target(), (), {})
    assert len(prop.calls) == 2 and failed.value.details["kind"] == kind
    passing = reading([[1.0]])
    assert isolation.twice(passing, Target(), (), {}) == 1 and len(passing.calls) == 2


def test_uninitialised_memory_keeps_the_path_when_the_first_run_broke_without_details():
    """A first run that raised an exception of its own (no check's details) still gives the failure the
    execution path of its last target call (as ``execution.run`` announces it), and the message names
    that exception, which the failure replaces."""
    def announce(run):
        if execution.on_path is not None:
            execution.on_path({"backend": f"B{run}"})
        if run == 1:
            raise ZeroDivisionError("float division by zero\nmore")
    announced = []
    hook = announced.append
    prop = reading([[0.0, 1.0]], [[0.0, 2.0]], tail=announce)
    with mock.patch.object(execution, "on_path", hook):  # the worker's hook still hears each call
        with pytest.raises(AssertionError) as failed:
            isolation.twice(prop, Target(), (), {})
        assert execution.on_path is hook  # put back
    assert failed.value.details["kind"] == "uninitialised" and failed.value.details["path"] == {"backend": "B1"}
    assert failed.value.details["message"].endswith(
        "first at (1,): 1.0 then 2.0; the first run also raised ZeroDivisionError: float division by zero")
    assert announced == [{"backend": "B1"}]  # the second run stopped at its last read, before announcing
    assert isinstance(failed.value.__cause__, ZeroDivisionError)


def test_the_comparison_is_bit_for_bit():
    nan = np.float64("nan")
    assert isolation.twice(reading([[nan, 1.0]]), Target(), (), {}) == 1  # the same NaN passes
    with pytest.raises(AssertionError, match="first at \\(0,\\): 0.0 then -0.0"):
        isolation.twice(reading([[0.0, 1.0]], [[-0.0, 1.0]]), Target(), (), {})
    assert isolation._bits(np.array([1.0, -0.0])).tolist() == list(np.array([1.0, -0.0]).tobytes())
    strided = np.arange(6.0)[::2]
    assert isolation._bits(strided).tolist() == list(np.array([0.0, 2.0, 4.0]).tobytes())


@pytest.mark.parametrize("second", [[[[1.0, 2.0, 3.0]]], [[1.0, 2.0, 3.0]], [[1.0]]])
def test_arrays_of_another_shape_are_not_compared(second):
    assert isolation.twice(reading([[1.0, 2.0]], second), Target(), (), {}) == 1


@pytest.mark.parametrize("second", [[], [[[2.0]]]])
def test_the_value_is_the_first_runs_even_when_the_second_returns(second):
    """A second run that reads fewer arrays returns normally; its value is not the outcome (nor compared
    where the shapes differ)."""
    prop = reading([[1.0], [1.0]], second)
    assert isolation.twice(prop, Target(), (), {}) == 1 and prop.calls == [0, 1]


def test_the_second_runs_error_after_fewer_reads_is_not_the_outcome():
    """(Its one array has another shape than the first run's first: not compared.)"""
    prop = reading([[1.0], [1.0]], [[[2.0]]], tail=lambda n: n == 1 or (_ for _ in ()).throw(ValueError("second")))
    assert isolation.twice(prop, Target(), (), {}) == 1 and prop.calls == [0, 1]


def test_the_first_runs_error_is_raised_after_the_second_run():
    def prop(target):
        runs.append(1)
        execution.reads.append(np.zeros(1))
        raise ValueError(f"run {len(runs)}")

    runs = []
    with pytest.raises(ValueError, match="run 1"):
        isolation.twice(prop, Target(), (), {})
    assert runs == [1, 1]


def test_an_error_of_the_second_run_alone_is_not_the_outcome():
    def prop(target):
        runs.append(1)
        if len(runs) == 2:
            raise ValueError("second only")  # before its reads
        execution.reads.append(np.zeros(1))
        return "value"

    runs = []
    assert isolation.twice(prop, Target(), (), {}) == "value"


@pytest.mark.parametrize("raised, text", [
    (MemoryError("no room\nsecond line"), "MemoryError: no room"),
    (MemoryError(), "MemoryError: "),
    (RuntimeError("DefaultCPUAllocator: not enough memory: you tried to allocate 64 GiB"),
     "RuntimeError: DefaultCPUAllocator: not enough memory: you tried to allocate 64 GiB"),
])
def test_an_allocation_failure_is_a_memory_failure(raised, text):
    def prop(target):
        raise raised

    with pytest.raises(AssertionError) as failed:
        isolation.twice(prop, Target(), (), {})
    assert failed.value.details["kind"] == "memory" and failed.value.__cause__ is raised
    assert failed.value.details["message"] == (f"an allocation failed ({text}; the worker's memory limit is "
                                               f"{bounds.memory_limit_mb():g} MiB, CONV_ORACLE_WORKER_MEMORY_MB)")


def test_an_allocation_failure_text_is_cut_at_300_characters():
    with pytest.raises(AssertionError) as failed:
        isolation.twice(lambda t: (_ for _ in ()).throw(MemoryError("x" * 400)), Target(), (), {})
    assert "MemoryError: " + "x" * 300 + ";" in failed.value.details["message"]


def test_an_allocation_failure_in_the_second_run_is_a_memory_failure():
    def prop(target):
        runs.append(1)
        if len(runs) == 2:
            raise MemoryError("poisoned run")
        execution.reads.append(np.zeros(1))
        return {"path": {"kernel": "first"}}

    runs = []
    with pytest.raises(AssertionError) as failed:
        isolation.twice(prop, Target(), (), {})
    assert failed.value.details["kind"] == "memory" and "poisoned run" in failed.value.details["message"]
    assert failed.value.details["path"] == {"kernel": "first"}


def test_the_first_runs_error_stays_when_the_second_fails_to_allocate():
    def prop(target):
        execution.reads.append(np.zeros(1))
        runs.append(1)
        raise ValueError("first") if len(runs) == 1 else MemoryError("second")

    runs = []
    with pytest.raises(ValueError, match="first"):
        isolation.twice(prop, Target(), (), {})


@pytest.fixture
def torch():
    torch = pytest.importorskip("torch")
    before = torch_state.snapshot()
    yield torch
    torch_state.restore(before)


@pytest.mark.parametrize("run, which", [(1, "first"), (2, "second")])
def test_a_call_that_changes_torch_state_fails_and_the_state_is_restored(torch, run, which):
    def prop(target):
        runs.append(1)
        if len(runs) == run:
            torch.backends.mkldnn.enabled = False
        execution.reads.append(np.zeros(1))  # the second run stops here
        if len(runs) == 1:
            raise KeyError("the first run's error")
        return None

    runs = []
    assert torch.backends.mkldnn.enabled
    with pytest.raises(AssertionError) as failed:
        isolation.twice(prop, Target(), (), {})
    assert torch.backends.mkldnn.enabled  # restored
    assert len(runs) == run  # reported at once, before the comparison
    assert failed.value.details["kind"] == "state_changed"
    assert failed.value.details["message"] == ("the call changed the process's torch state (mkldnn enabled: "
                                               f"True -> False) in the {which} of two identical calls")
    assert isinstance(failed.value.__cause__, KeyError)


def test_a_state_change_comes_before_the_comparison(torch):
    def prop(target):
        runs.append(1)
        if len(runs) == 2:
            torch.set_grad_enabled(False)
        execution.reads.append(np.full(1, float(len(runs))))  # differs, too

    runs = []
    with pytest.raises(AssertionError) as failed:
        isolation.twice(prop, Target(), (), {})
    assert failed.value.details["kind"] == "state_changed" and "grad enabled: True -> False" in str(failed.value)


def test_path_of_the_value_or_the_error():
    err = AssertionError()
    err.details = {"path": {"kernel": "e"}}
    assert isolation._path_of({"path": {"kernel": "v"}}, err) == {"kernel": "v"}
    assert isolation._path_of({"path": None}, err) == {"kernel": "e"}
    assert isolation._path_of({"path": {}}, err) == {"kernel": "e"}
    assert isolation._path_of(["path"], err) == {"kernel": "e"}
    assert isolation._path_of(None, ValueError()) is None
    assert isolation._path_of(None, None) is None


# ---- the failure and its example ----------------------------------------------------------------

def test_a_failure_without_an_example_names_the_property_and_the_target():
    def prop(target):
        pass

    exc = isolation.failure(prop, Target("tgt"), None, "boom", path={"p": 1})
    assert str(exc) == "prop on target tgt: boom"
    assert exc.details == {"what": None, "message": "boom", "header": "", "snippet": "", "cells": [],
                           "kind": "crash", "path": {"p": 1}}
    assert str(isolation.failure(prop, "named", None, "m", kind=FailureKind.HANG)) == "prop on target named: m"
    assert isolation.failure(prop, "named", None, "m", kind=FailureKind.HANG).details["kind"] == "hang"


def test_a_failure_with_an_example_has_its_snippet():
    def prop(target):
        pass

    exc = isolation.failure(prop, Target("tgt"), _example(), "crashed", path={"threads": 1})
    details = exc.details
    assert details["what"] == "output" and details["kind"] == "crash" and details["cells"] == []
    assert details["message"] == "[prop] crashed" and details["path"] == {"threads": 1}
    assert "target=tgt dtype=float64" in details["header"] and "gy" not in details["snippet"]
    with_cell = isolation.failure(prop, Target("tgt"), _example(), "m", cell=(0, 0, 1), got=2.5,
                                  kind=FailureKind.UNINITIALISED)
    assert with_cell.details["cells"] == [{"index": [0, 0, 1], "expected": None, "got": 2.5}]
    assert with_cell.details["kind"] == "uninitialised"


def test_a_gradients_failure_backpropagates_its_output_gradient():
    def prop(target):
        pass

    ops = Operands(np.ones((1, 1, 3)), np.ones((1, 1, 1)), None, "float", 1.0, seed=7)
    exc = isolation.failure(prop, Target(), _example(wrt="w", ops=ops), "crashed")
    assert exc.details["what"] == "grad_w" and "gy" in exc.details["snippet"]
    assert isolation.failure(prop, Target(), _example(wrt="w"), "m").details["what"] == "output"  # no ops
    assert isolation.failure(prop, Target(), _example(ops=ops), "m").details["what"] == "output"  # no wrt


def test_example_of_binds_the_arguments_by_name():
    def prop(target, case, dtype="float32", *, layout="contiguous"):
        pass

    seen = []
    describe = lambda **kw: seen.append(kw) or "example"  # noqa: E731
    assert isolation.example_of(prop, describe, "t", ("c",), {"layout": "sliced"}) == "example"
    assert seen == [{"target": "t", "case": "c", "dtype": "float32", "layout": "sliced"}]
    assert isolation.example_of(prop, None, "t", ("c",), {}) is None
    assert isolation.example_of(prop, describe, "t", ("c", "d", "e"), {}) is None  # does not bind
    assert len(seen) == 1


# ---- small helpers -------------------------------------------------------------------------------

def test_signal_text():
    assert isolation._signal_text(None) == "the worker stopped answering"
    assert isolation._signal_text(-signal.SIGSEGV) == f"killed by signal 11 (SIGSEGV: {signal.strsignal(11)})"
    assert isolation._signal_text(-1) == f"killed by signal 1 (SIGHUP: {signal.strsignal(1)})"
    assert isolation._signal_text(-200) == "killed by signal 200"
    assert isolation._signal_text(0) == "exited with status 0"
    assert isolation._signal_text(3) == "exited with status 3"


def test_frames():
    plain, interim = isolation._frame({"a": 1}), isolation._frame(("path", 2), interim=True)
    size = isolation._FRAME.size
    assert not isolation._is_path(plain) and isolation._is_path(interim)
    assert isolation._length(plain[:size]) == len(plain) - size
    assert isolation._length(interim[:size]) == len(interim) - size
    assert pickle.loads(plain[size:]) == {"a": 1} and pickle.loads(interim[size:]) == ("path", 2)
    assert isolation._INTERIM == 2**63


@pytest.fixture
def memory_limit(monkeypatch):
    def set_limit(mb):
        monkeypatch.setenv(settings_mod.NAMES["worker_memory_mb"], str(mb))
        settings_mod.reload()
    yield set_limit
    monkeypatch.undo()
    settings_mod.reload()


def test_a_death_at_the_memory_limit_is_a_memory_failure(memory_limit):
    memory_limit(1000)
    crash = FailureKind.CRASH
    assert isolation._memory_death("m", crash, None) == ("m", crash)
    assert isolation._memory_death("m", crash, 899.9) == ("m", crash)
    assert isolation._memory_death("m", crash, 900.0) == (
        "m; its peak resident memory, 900 MiB, was at the worker's memory limit of 1000 MiB "
        "(CONV_ORACLE_WORKER_MEMORY_MB)", FailureKind.MEMORY)
    memory_limit(0.5)  # a cap below 1 MiB is a cap
    assert isolation._memory_death("m", crash, 1.0)[1] is FailureKind.MEMORY
    memory_limit(0)  # no cap
    assert isolation._memory_death("m", crash, 5000.0) == ("m", crash)


def test_the_hang_budget_is_read_once(monkeypatch):
    monkeypatch.setattr(isolation, "_hangs", None)
    hangs = isolation.hang_budget()
    assert isinstance(hangs, bounds.HangBudget) and hangs.timeout == settings_mod.settings().call_timeout
    assert isolation.hang_budget() is hangs


def test_supervisors_are_kept_per_name_env_and_threads_least_recently_used_first(monkeypatch):
    closed = []

    class Fake:
        def __init__(self, target):
            self.target = target

        def close(self):
            closed.append(self.target)

    monkeypatch.setattr(isolation, "Supervisor", Fake)
    monkeypatch.setattr(isolation, "_supervisors", {})
    a, a_env, a_threads = Target("a"), Target("a", env={"X": "1"}), Target("a", threads=1)
    sup = isolation.supervisor(a)
    assert isolation.supervisor(Target("a")) is sup  # by name, env and threads: not by object
    assert len({id(isolation.supervisor(t)) for t in (a, a_env, a_threads)}) == 3 and closed == []
    isolation.supervisor(a)  # used last: the env one is the oldest now
    isolation.supervisor(Target("b"))
    assert closed == [a_env] and len(isolation._supervisors) == isolation.MAX_LIVE == 3


# ---- the supervisor's side of a call (a stand-in worker) -----------------------------------------

class FakeWorker:
    """A worker whose replies are scripted: each ``request`` returns (or raises) the next one."""

    made = []

    def __init__(self, target, replies=(), pid=100):
        self.replies, self.pid, self.live, self.retired, self.stopped = list(replies), pid, True, 0, 0
        self.timeouts = []
        FakeWorker.made.append(self)

    def alive(self):
        return self.live

    def request(self, fn, args, kwargs, timeout):
        self.timeouts.append(timeout)
        reply = self.replies.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        return reply

    def retire(self):
        self.retired += 1

    def stop(self):
        self.stopped += 1


@pytest.fixture
def sup(monkeypatch):
    """A supervisor with a stand-in worker, its own hang budget and scripted RSS readings."""
    FakeWorker.made = []
    monkeypatch.setattr(isolation, "Worker", FakeWorker)
    monkeypatch.setattr(isolation, "_hangs", bounds.HangBudget(timeout=50, short=5, budget=1000))
    rss = {"values": []}
    monkeypatch.setattr(isolation.processes, "rss_mb", lambda pid: rss["values"].pop(0) if rss["values"] else 300.0)
    supervisor = isolation.Supervisor(Target("t"))
    supervisor.rss_values = rss["values"]
    return supervisor


def prop(target, x):
    return x


def test_a_call_starts_a_worker_and_returns_its_value_with_the_memory_fields(sup):
    sup.rss_values.extend([300.0, 310.04])
    sup.worker = FakeWorker(None, [("ok", {"v": 1}), ("ok", "plain")])
    assert sup.call(prop, sup.target, (1,), {}) == {"v": 1, "worker_rss_mb": 300.0, "worker_rss_growth_mb": 0.0}
    assert sup.call(prop, sup.target, (1,), {}) == "plain"
    assert sup.worker.timeouts == [50, 50]
    assert sup.rss.fields() == {"worker_rss_mb": 310.0, "worker_rss_growth_mb": 10.0}


def test_a_dead_worker_is_stopped_and_replaced(sup):
    old = sup.worker = FakeWorker(None)
    old.live = False
    FakeWorker.made = []
    with pytest.raises(IndexError):  # the fresh worker has no scripted reply: it was asked
        sup.call(prop, sup.target, (1,), {})
    assert old.stopped == 1 and sup.worker is FakeWorker.made[0] and sup.worker is not old
    sup.worker = None
    with pytest.raises(IndexError):
        sup.call(prop, sup.target, (1,), {})
    assert sup.worker is FakeWorker.made[1]


def test_a_live_worker_is_kept(sup):
    worker = sup.worker = FakeWorker(None, [("ok", 1)])
    sup.call(prop, sup.target, (1,), {})
    assert sup.worker is worker and worker.stopped == 0 and len(FakeWorker.made) == 1


def test_a_hang_is_a_hang_failure_counted_in_the_budget(sup):
    sup.worker = FakeWorker(None, [isolation._Died("did not return within 50 s", FailureKind.HANG, {"k": 1}),
                                   isolation._Died("did not return within 5 s", FailureKind.HANG),
                                   ("ok", 2)])
    with pytest.raises(AssertionError) as first:
        sup.call(prop, sup.target, (1,), {})
    assert str(first.value) == "prop on target t: the target did not return within 50 s"
    assert first.value.details["kind"] == "hang" and first.value.details["path"] == {"k": 1}
    assert first.value.__cause__ is None and first.value.__suppress_context__
    hangs = isolation.hang_budget()
    assert hangs.hangs == 1 and list(hangs.hung.values()) == [str(first.value)] and 0 <= hangs.spent < 5
    with pytest.raises(AssertionError) as second:
        sup.call(prop, sup.target, (1,), {})
    assert str(second.value).endswith("within 5 s; a shorter limit since this test hung before "
                                      "(CONV_ORACLE_HANG_TIMEOUT)")
    assert hangs.hangs == 2
    assert sup.call(prop, sup.target, (1,), {}) == 2
    assert sup.worker.timeouts == [50, 5, 5]
    key = next(iter(hangs.hung))
    assert key[1] == "t" and key[0] == isolation._current_test() != ""


def test_the_hang_key_outside_pytest_is_the_property(sup, monkeypatch):
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    sup.worker = FakeWorker(None, [isolation._Died("did not return", FailureKind.HANG)])
    with pytest.raises(AssertionError):
        sup.call(prop, sup.target, (1,), {})
    assert list(isolation.hang_budget().hung) == [("prop", "t")]


def test_a_crash_is_a_crash_failure_or_memory_at_the_cap(sup, memory_limit):
    memory_limit(1000)
    sup.rss = bounds.RssWatch()
    sup.rss.add(123.0)
    sup.worker = FakeWorker(None, [isolation._Died("crashed: killed by signal 9", FailureKind.CRASH, peak_mb=100.0),
                                   isolation._Died("crashed: killed by signal 9", FailureKind.CRASH, peak_mb=950.0)])
    with pytest.raises(AssertionError) as crash:
        sup.call(prop, sup.target, (1,), {})
    assert str(crash.value) == "prop on target t: the target crashed: killed by signal 9"
    assert crash.value.details["kind"] == "crash" and crash.value.details["worker_rss_mb"] == 123.0
    with pytest.raises(AssertionError) as memory:
        sup.call(prop, sup.target, (1,), {})
    assert memory.value.details["kind"] == "memory" and "peak resident memory, 950 MiB" in str(memory.value)
    assert isolation.hang_budget().hangs == 0  # not hangs


def test_a_crash_of_a_fresh_workers_first_call_is_its_own_without_a_rerun(sup):
    sup.worker = FakeWorker(None, [isolation._Died("crashed: killed by signal 11", FailureKind.CRASH)])
    with pytest.raises(AssertionError) as crash:
        sup.call(prop, sup.target, (1,), {})
    assert str(crash.value) == "prop on target t: the target crashed: killed by signal 11"
    assert crash.value.details["crash_alone"] is True and sup.worker.replies == []  # one request: no rerun


def described(target, x):
    return isolation.Example(Case("conv", 1, 1, 1, 1, 1, (x,), (1,)), np.zeros((1, 1, x)), np.zeros((1, 1, 1)), None)


@pytest.mark.parametrize("rerun, alone, note", [
    (("ok", {}), False, "run alone in a fresh worker the same call did not crash (it passed): memory an earlier call "
                        "corrupted may be the cause (the crashed worker had answered 2 call(s); the last: prop of "
                        "conv1d(input[1, 1, 5]"),
    (isolation._Died("crashed: killed by signal 11", FailureKind.CRASH), True,
     "killed by signal 11 (it crashed again when run alone in a fresh worker)"),
])
def test_a_crash_after_earlier_calls_is_run_again_alone(sup, rerun, alone, note):
    """A call can corrupt the worker's memory and leave the crash to a later call: a crash after earlier calls is
    run again in a fresh worker, and the message says whether it crashes alone (the verdict stays a crash)."""
    sup.worker = FakeWorker(None, [("ok", {}), ("ok", {}), isolation._Died("crashed: killed by signal 11",
                                                                            FailureKind.CRASH), rerun])
    sup.call(prop, sup.target, (3,), {}, describe=described)
    sup.call(prop, sup.target, (5,), {}, describe=described)
    with pytest.raises(AssertionError) as crash:
        sup.call(prop, sup.target, (7,), {}, describe=described)
    assert note in str(crash.value) and "conv1d(input[1, 1, 7]" in str(crash.value)
    assert crash.value.details["kind"] == "crash" and crash.value.details["crash_alone"] is alone
    assert sup.worker.replies == []


def test_a_crash_before_any_memory_reading_has_no_memory_fields(sup):
    sup.worker = FakeWorker(None, [isolation._Died("crashed", FailureKind.CRASH)])
    with pytest.raises(AssertionError) as crash:
        sup.call(prop, sup.target, (1,), {})
    assert "worker_rss_mb" not in crash.value.details


def test_a_leak_fails_the_call_that_grew_the_worker(sup, monkeypatch):
    monkeypatch.setattr(bounds.RssWatch, "from_environment", classmethod(lambda cls, retained_mb=0.0: cls(2.0, 2, retained_mb)))
    sup.rss_values.extend([80.0, 90.0, 100.0, 110.0, 120.0])
    sup.worker = FakeWorker(None, [("ok", {"path": {"k": 3}})] * 5)
    for _ in range(4):
        sup.call(prop, sup.target, (1,), {})
    with pytest.raises(AssertionError) as leak:
        sup.call(prop, sup.target, (1,), {})
    assert leak.value.details["kind"] == "memory" and leak.value.details["path"] == {"k": 3}
    assert str(leak.value).startswith("prop on target t: the target: the worker's resident memory grew by 20.0 MiB")
    assert leak.value.details["worker_rss_mb"] == 120.0 and leak.value.details["worker_rss_growth_mb"] == 40.0
    assert sup.worker.retired == 0  # a leak keeps the worker


@pytest.mark.parametrize("kind, retired", [("state_changed", 1), ("memory", 1), ("uninitialised", 0), (None, 0)])
def test_a_raised_failure_gets_the_memory_fields_and_replaces_a_dirty_worker(sup, kind, retired):
    exc = AssertionError("failed")
    if kind is not None:
        exc.details = {"kind": kind}
    sup.rss_values.append(222.0)
    sup.worker = FakeWorker(None, [("raise", exc)])
    with pytest.raises(AssertionError) as raised:
        sup.call(prop, sup.target, (1,), {})
    assert raised.value is exc and sup.worker.retired == retired
    if kind is not None:
        assert exc.details["worker_rss_mb"] == 222.0


def test_the_memory_watch_restarts_with_a_fresh_worker(sup):
    sup.worker = FakeWorker(None, [("ok", {})] * 3, pid=1)
    sup.rss_values.extend([100.0, 150.0, 400.0])
    assert sup.call(prop, sup.target, (1,), {})["worker_rss_growth_mb"] == 0.0
    assert sup.call(prop, sup.target, (1,), {})["worker_rss_growth_mb"] == 50.0
    sup.worker.pid = 2  # a fresh fork: its own life
    assert sup.call(prop, sup.target, (1,), {}) == {"worker_rss_mb": 400.0, "worker_rss_growth_mb": 0.0}
    sup.worker.pid = None  # no process known: nothing read
    assert sup._watch() == (None, {})
    sup.worker = None
    assert sup._watch() == (None, {})
