"""Crash isolation and deterministic verdicts: a property runs in a supervised worker process.

A property function decorated with :func:`isolated` (``properties.forward`` and the others) runs in a
long-lived worker, one per target, reused across examples and restarted after a crash: a fork server
(``python -m conv_oracle.checks.isolation``, torch and the isolated functions' modules loaded, no op
run; one for all the targets that share an ``env``) forks it and the worker loads its target, so a
restart costs milliseconds and a target's import reaches no other target's worker. Requests and replies are pickled over
the worker's pipes (our own two processes; nothing on disk is unpickled). A worker killed by a
signal, or silent past the per-call limit, becomes an ``AssertionError`` for that example naming the
configuration, the signal and a reproduction snippet (from the :class:`Example` the property's
``describe`` gives), so Hypothesis shrinks it like any other failure and the run goes on. A crash after
earlier calls in the same worker is run again alone in a fresh one (a call that corrupts memory can leave
its crash to a later call): the message says whether it crashes there too (``crash_alone`` in the details;
when it does not, ``crash_after`` scopes the crashed worker's last call, for the known deviations).

In the worker each property runs twice, the second time with every fresh heap block filled with a
poison pattern no earlier call used (:mod:`conv_oracle.checks.poisons`: glibc ``M_PERTURB``, no
thread cache; a spray of freed blocks elsewhere) and stopped after the target's last result was
read; every array read back from the target is compared bit for bit between the two runs: a cell
that depends on allocator state fails with "differs between two identical calls: uninitialised
memory", whatever the allocator held.

Before and after each of the two runs the worker reads its torch state (:mod:`conv_oracle.machine.torch_state`:
threads, oneDNN on/off, CPU capability, TF32 flags, default dtype, grad mode); a call that changed it
fails with kind ``state_changed``, naming the change ("mkldnn enabled: True -> False"), before the two
runs' results are compared (a kernel switched off changes the second run's values too), and the
worker is replaced: the next example runs in a fresh fork. What a faulty target may cost is bounded
(:mod:`conv_oracle.checks.bounds`): a test that hung once gets a short limit, a process a total hang
budget; the worker's data is capped (an allocation past it fails with kind ``memory`` and the worker
is replaced) and its resident memory is read after every call, recorded (``worker_rss_mb``) and
checked for a leak (kind ``memory``; the worker is kept, so that Hypothesis' replay sees the same).

No worker outlives its run, even one stuck in a call that never returns: stopping a fork server
(interrupt, exit, eviction) sends it SIGTERM, on which it kills and reaps its worker (and anything the
worker started) before exiting; a server whose process dies gets SIGTERM from the kernel, a worker
whose server dies gets SIGKILL (see :mod:`conv_oracle.machine.processes`).

A target's ``env`` (environment variables read when its library loads, e.g. ``ONEDNN_MAX_CPU_ISA``)
applies to its worker only. Each call runs at the target's ``threads`` when it pins one, else at the
caller's torch thread count at the time of the call (it travels with the request; the worker sets it
before the call, so the recorded path names it). Settings (:mod:`conv_oracle.machine.settings`):
``isolation`` off runs properties in-process (for debuggers); ``call_timeout`` is the per-call limit in
seconds (the other bounds: :mod:`conv_oracle.checks.bounds`).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import itertools
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..definition.case import Case
from ..machine import processes, torch_state
from ..machine.settings import NAMES, Settings, settings
from ..oracle.applied import oracle_forward
from . import bounds
from .failure_kinds import FailureKind
from .operands import Operands, output_gradient
from .poisons import TUNABLES, next_poison, poisoned

ENV_MODE = NAMES["isolation"]
ENV_TIMEOUT = NAMES["call_timeout"]
DEFAULT_TIMEOUT = Settings.call_timeout
#: seconds a fork server gets to stop its worker and exit on SIGTERM before it is killed outright
STOP_GRACE = 5.0
UNINITIALISED = "differs between two identical calls: uninitialised memory"
#: the same, found by the third run a value failure gets when the first two read the same
UNINITIALISED_THIRD = ("differs between identical calls (the first two read the same; a third, under another poison, "
                       "differs): uninitialised memory")

#: torch's notes on expected behaviour, not findings (the pytest plugin filters the same)
WORKER_QUIET = ("Using padding='same' with even kernel lengths", "TF32 acceleration on top of oneDNN")

_in_worker = False


def enabled() -> bool:
    """Whether properties run in workers here (not inside a worker; not switched off)."""
    return not _in_worker and settings().isolation


def call_timeout() -> float:
    return settings().call_timeout


@dataclass
class Example:
    """The example a property checks, as a failure without a comparison (a crash, a hang,
    uninitialised memory) names it: the configuration, the operands (zeros where the property makes
    its own), the dtype, the layouts and, for a gradient, which one (``wrt``) and the operands whose
    seed gives its output gradient (``ops``)."""

    case: Case
    x: np.ndarray
    w: np.ndarray
    b: np.ndarray | None
    dtype: str = "float32"
    x_layout: str = "contiguous"
    w_layout: str = "contiguous"
    wrt: str | None = None
    ops: Operands | None = None


#: the modules that define isolated functions: the fork server imports them once, before forking
_MODULES: set[str] = set()
#: what a worker's first calls import lazily (torch's backward imports its symbolic shapes, with sympy;
#: a failure message its snippets and kernel path): imported once in the fork server, not again in every
#: fresh worker (~0.5 CPU-s each; a run forks one per crash, a test run hundreds); absent ones are skipped
WORKER_IMPORTS = ("torch.fx.experimental.symbolic_shapes", "numpy.random", "conv_oracle.machine.kernel_path",
                  "conv_oracle.machine.fingerprint", "conv_oracle.checks.snippets", "conv_oracle.targets.execution",
                  "conv_oracle.targets.variants", "conv_oracle.targets.compiled")


def isolated(fn=None, *, describe=None):
    """Decorator: run ``fn(target, ...)`` in the target's worker (see the module docstring); in-process,
    twice under poisons, when isolation is off or the target cannot be rebuilt by name.

    ``describe`` is the property's side of the contract: called with the property's arguments by name
    (defaults applied, ``target`` included), it returns the :class:`Example` that a crash, a hang or
    uninitialised memory is reported with (configuration, dtype, layouts, snippet). Without it such a
    failure names only the property and the target. ``@isolated`` and ``@isolated(describe=...)`` both work."""
    if fn is None:
        return functools.partial(isolated, describe=describe)

    @functools.wraps(fn)
    def wrapper(target, *args, **kwargs):
        __tracebackhide__ = True
        if enabled() and _rebuildable(target):
            return supervisor(target).call(fn, target, args, kwargs, describe)
        return twice(fn, target, args, kwargs, describe)

    wrapper.__isolated__ = True
    wrapper.describe = describe
    _MODULES.add(fn.__module__)
    return wrapper


def _rebuildable(target) -> bool:
    from ..targets import load_target
    try:
        return load_target(target.name) is target
    except Exception:
        return False


# ---- the double call (poisons: conv_oracle.checks.poisons) ------------------------------------

class _Reads(list):
    """The arrays read back in one run; the second run stops after as many as the first made (the
    oracle's work after them would only repeat the first run's)."""

    def __init__(self, limit: int | None = None):
        super().__init__()
        self.limit = limit

    def append(self, array) -> None:
        super().append(array)
        if self.limit is not None and len(self) >= self.limit:
            raise _Enough


class _Enough(BaseException):  # not an Exception: no property may catch it
    pass


#: a value failure whose two runs read the same gets a third run: stale memory can hold the same garbage
#: in both (1 of 200 double calls of a bfloat16 transposed weight gradient on an EPYC), a wrong value then
_VALUE_KINDS = frozenset({FailureKind.WRONG_VALUE.value, FailureKind.NONFINITE.value, FailureKind.FINITE.value})


def twice(fn, target, args, kwargs, describe=None):
    """``fn(target, *args, **kwargs)`` twice: as it comes, then with every heap block the second run
    allocates filled with a fresh poison pattern; every array read back from the target must be the
    same bit for bit in both runs. A value failure whose runs read the same runs a third time under
    another poison, compared with the first. Returns (or raises) the first run's outcome; ``describe``
    as for :func:`isolated`."""
    __tracebackhide__ = True
    state = torch_state.snapshot()
    first = _Reads()
    value, error, path = _run_once(fn, target, args, kwargs, first, state, describe, "first")
    if first:  # something read back from the target: what depends on the allocator differs between runs
        reruns = ["second"] + (["third"] if (getattr(error, "details", None) or {}).get("kind") in _VALUE_KINDS
                               else [])
        for which in reruns:
            again = _Reads(len(first))
            _, again_error, _ = _run_once(fn, target, args, kwargs, again, state, describe, which, next_poison(),
                                              error)
            if error is None and bounds.allocation_failure(again_error) is not None:
                error = again_error
            if which == "second":
                _raise_allocation_failure(fn, target, args, kwargs, describe, error, path)
            _compare_reads(fn, target, args, kwargs, describe, first, again, which, error, path)
    _raise_allocation_failure(fn, target, args, kwargs, describe, error, path)
    if error is not None:
        raise error
    return value


def _run_once(fn, target, args, kwargs, reads: "_Reads", state, describe, which: str, poison: int | None = None,
              cause: Exception | None = None):
    """One run of the double call: ``(value, error, path)``, the property's result or its exception and
    the execution path it recorded (in the result or the failure's details; else the path of the last
    target call it made); a run that changed torch's state raises (from ``cause``, the first run's
    exception, or this run's own)."""
    __tracebackhide__ = True
    from ..targets import execution
    value = error = None
    paths = []
    previous, execution.reads = execution.reads, reads
    hook = execution.on_path

    def seen(p):
        paths.append(p)
        if hook is not None:
            hook(p)
    execution.on_path = seen
    try:
        with (poisoned(poison) if poison is not None else contextlib.nullcontext()):
            try:
                value = fn(target, *args, **kwargs)
            except _Enough:
                pass
            except Exception as exc:
                error = exc
    finally:
        execution.reads, execution.on_path = previous, hook
    path = _path_of(value, error) or (paths[-1] if paths else None)
    # the state first: a call that switched a kernel path off also changes the next run's values
    changed = torch_state.changes(state, torch_state.snapshot())
    if changed:
        torch_state.restore(state)
        raise failure(fn, target, example_of(fn, describe, target, args, kwargs),
                      f"the call changed the process's torch state ({'; '.join(changed)}) in the "
                      f"{which} of {'three' if which == 'third' else 'two'} identical calls",
                      path=path, kind=FailureKind.STATE_CHANGED) from (cause or error)
    return value, error, path


def _raise_allocation_failure(fn, target, args, kwargs, describe, error, path) -> None:
    __tracebackhide__ = True
    alloc = bounds.allocation_failure(error)
    if alloc is not None:
        text = str(alloc).strip().splitlines()[0][:300] if str(alloc).strip() else ""
        raise failure(fn, target, example_of(fn, describe, target, args, kwargs),
                      f"an allocation failed ({type(alloc).__name__}: {text}; the worker's memory limit is "
                      f"{bounds.memory_limit_mb():g} MiB, {bounds.ENV_MEMORY})",
                      path=path, kind=FailureKind.MEMORY) from error


def _compare_reads(fn, target, args, kwargs, describe, first, again, which: str, error, path) -> None:
    """Raise ``uninitialised`` at the first array read back that differs, bit for bit, between the first
    run and ``again`` (the ``which`` run). A first-run exception that is not a check's failure (no
    ``details``: the property itself broke) is named too, since the failure raised here replaces it."""
    __tracebackhide__ = True
    for k, (a, b) in enumerate(zip(first, again)):
        if a.shape == b.shape and not np.array_equal(_bits(a), _bits(b)):
            cell = tuple(int(i) for i in np.argwhere(a.view(np.int64) != b.view(np.int64))[0])
            broke = ""
            if error is not None and not hasattr(error, "details"):
                line = (str(error).strip() + " ").splitlines()[0][:200]
                broke = f"; the first run also raised {type(error).__name__}: {line}"
            raise failure(fn, target, example_of(fn, describe, target, args, kwargs),
                          f"array #{k + 1} read back from the target (shape {list(a.shape)}) "
                          f"{UNINITIALISED if which == 'second' else UNINITIALISED_THIRD}; "
                          f"first at {cell}: {float(a[cell])!r} then {float(b[cell])!r}{broke}",
                          cell=cell, got=a[cell], path=path, kind=FailureKind.UNINITIALISED) from error


class _Call(NamedTuple):
    """A call the worker answered: what a later crash's message and its ``crash_after`` name."""

    fn: object
    describe: object
    args: tuple
    kwargs: dict
    path: dict | None


def _reply_path(status: str, value) -> dict | None:
    """The execution path in a worker's reply: the value's (``ok``) or the raised failure's."""
    return _path_of(value, None if status == "ok" else value)


def _path_of(value, error) -> dict | None:
    """The execution path the first run recorded (in its result, or in its failure's details)."""
    if isinstance(value, dict) and value.get("path"):
        return value["path"]
    return (getattr(error, "details", None) or {}).get("path")


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).view(np.uint8)


# ---- failures without a comparison (crash, hang, uninitialised memory) -----------------------

def failure(fn, target, example: Example | None, message: str, cell=None, got=None, path=None,
            kind: FailureKind = FailureKind.CRASH) -> AssertionError:
    """An AssertionError like :meth:`comparison.CheckContext.failure`'s (``details`` for the records),
    naming the property's ``example`` (configuration, dtype, layouts and a snippet) when there is one."""
    from .comparison import CheckContext
    name = getattr(target, "name", str(target))
    if example is None:
        exc = AssertionError(f"{fn.__name__} on target {name}: {message}")
        exc.details = {"what": None, "message": message, "header": "", "snippet": "", "cells": [], "kind": kind.value,
                       "path": path}
        return exc
    ctx = CheckContext(example.case, name, example.dtype, "isolation", example.x, example.w, example.b,
                       example.x_layout, example.w_layout, getattr(target, "device", "cpu"), path=path)
    if example.wrt and example.ops is not None:  # a gradient: the snippet backpropagates the same output gradient
        ctx.what = f"grad_{example.wrt}"
        ctx.grad_output = output_gradient(example.ops, oracle_forward(example.case, example.x, example.w,
                                                                      example.b).shape)
    cells = [(cell, None, got)] if cell is not None else None
    return ctx.failure(f"[{fn.__name__}] {message}", cells=cells, kind=kind)


def example_of(fn, describe, target, args, kwargs) -> Example | None:
    """``describe``'s :class:`Example` for the call ``fn(target, *args, **kwargs)``: it gets the
    arguments by name, defaults applied. None without ``describe`` or when the arguments do not bind."""
    if describe is None:
        return None
    try:
        bound = inspect.signature(fn).bind(target, *args, **kwargs)
    except TypeError:
        return None
    bound.apply_defaults()
    return describe(**bound.arguments)


def _signal_text(returncode: int | None) -> str:
    if returncode is None:
        return "the worker stopped answering"
    if returncode < 0:
        try:
            sig = signal.Signals(-returncode)
            return f"killed by signal {-returncode} ({sig.name}: {signal.strsignal(sig)})"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with status {returncode}"


# ---- the supervisor (parent side) ------------------------------------------------------------

_FRAME = struct.Struct("!Q")
#: set in a frame's length word for an interim message (a call's path), which the fork server relays
#: without unpickling, before the call's reply
_INTERIM = 1 << 63


def _length(head: bytes) -> int:
    return _FRAME.unpack(head)[0] & ~_INTERIM


def _send(fh, obj) -> None:
    fh.write(_frame(obj))
    fh.flush()


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes | None:
    """``n`` bytes from ``fd``; None at end of file; TimeoutError past ``deadline``."""
    chunks, left = [], n
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise TimeoutError
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _recv(fd: int, deadline: float | None = None):
    head = _read_exact(fd, _FRAME.size, deadline)
    if head is None:
        return None
    body = _read_exact(fd, _length(head), deadline)
    return None if body is None else pickle.loads(body)


class _Server:
    """A fork server (``python -m conv_oracle.checks.isolation``; an ``env`` applied at its start, torch
    and the isolated functions' modules loaded, no op run), shared by the targets with that ``env``:
    it forks one worker per target, which loads its target itself, so no target's import reaches
    another's worker, and a crashed worker is replaced by a fresh fork in milliseconds."""

    def __init__(self, env_key: tuple, threads: int | None):
        self.key = env_key
        env = dict(os.environ, **dict(env_key))
        env["GLIBC_TUNABLES"] = ":".join(t for t in (env.get("GLIBC_TUNABLES"), TUNABLES) if t)
        env[ENV_MODE] = "off"
        # OpenMP threads that spin after each call would take the cores the parent (Hypothesis, the
        # oracle) needs while the worker waits: ~2x slower on 2 cores. Results do not depend on it.
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        self.proc = subprocess.Popen([sys.executable, "-m", "conv_oracle.checks.isolation"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env, close_fds=True)
        _send(self.proc.stdin, {"sys_path": list(sys.path), "cwd": os.getcwd(), "threads": threads,
                                "parent": os.getpid(), "preload": sorted(_MODULES - {"__main__"})})
        self.users: set[Worker] = set()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def control(self, *message) -> None:
        """A message to the server itself (which target the next frame is for, or retire its worker)."""
        self.proc.stdin.write(_frame(message, interim=True))

    def stop(self) -> None:
        """Stop the fork server and its workers, even one stuck in a call: SIGTERM makes the server
        kill and reap its workers (and their own children) and exit; killed outright past STOP_GRACE
        (its workers then die with it). Both are reaped when this returns."""
        try:
            if self.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.terminate()
                try:
                    self.proc.wait(timeout=STOP_GRACE)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            for fh in (self.proc.stdin, self.proc.stdout):
                with contextlib.suppress(OSError):
                    fh.close()
            for worker in self.users:
                worker.pid = None
            if _servers.get(self.key) is self:
                del _servers[self.key]


#: the live fork servers, by the environment they were started with
_servers: dict[tuple, _Server] = {}
_worker_ids = itertools.count(1)


class Worker:
    """One target's worker, forked on demand by the fork server for the target's ``env``; runs the
    properties."""

    def __init__(self, target):
        self.target_name = target.name
        self.id = f"{target.name}#{next(_worker_ids)}"  # the server's name for this worker
        self.threads = getattr(target, "threads", None)
        key = tuple(sorted((getattr(target, "env", {}) or {}).items()))
        server = _servers.get(key)
        if server is None or not server.alive():
            if server is not None:
                server.stop()
            server = _servers[key] = _Server(key, self.threads or _parent_threads())
        self.server = server
        server.users.add(self)
        self.proc = server.proc
        self.pid: int | None = None

    def alive(self) -> bool:
        return self in self.server.users and self.server.alive()

    def request(self, fn, args, kwargs, timeout: float):
        """``("ok", value)`` or ``("raise", exc)``; raises _Died with the exit text on a crash or hang."""
        deadline, hung, path = time.monotonic() + timeout, False, None
        try:
            self.server.control("target", self.id)
            _send(self.proc.stdin, (fn.__module__, fn.__qualname__, self.target_name,
                                    self.threads or _parent_threads(), args, kwargs))
            while True:
                try:
                    reply = _recv(self.proc.stdout.fileno(), None if hung else deadline)
                except TimeoutError:
                    if self.pid is None:
                        self.server.stop()
                        raise _Died(f"did not return within {timeout:g} s (the worker was killed)",
                                    FailureKind.HANG, path) from None
                    hung = True
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(self.pid, signal.SIGKILL)
                    continue
                if reply is None or reply[0] not in ("pid", "path"):
                    break
                if reply[0] == "pid":
                    self.pid = reply[1]
                else:
                    path = reply[1]
        except (BrokenPipeError, OSError):
            reply = None
        if hung:
            self.pid = None  # killed; the server reaps it and forks a fresh one for the next request
            raise _Died(f"did not return within {timeout:g} s (the worker was killed)", FailureKind.HANG, path)
        if reply is None:
            self.server.stop()
            raise _Died("crashed: the worker's fork server exited", FailureKind.CRASH, path)
        if reply[0] == "died":
            self.pid = None
            raise _Died(f"crashed: the worker process {_signal_text(reply[1])}", FailureKind.CRASH, path,
                        peak_mb=reply[2] if len(reply) > 2 else None)
        return reply

    def retire(self) -> None:
        """Replace the worker (its state or its memory is no longer clean): the server kills and reaps
        it; the next request runs in a fresh fork."""
        if self.pid is not None and self.server.alive():
            with contextlib.suppress(BrokenPipeError, OSError):
                self.server.control("retire", self.id)
                self.proc.stdin.flush()
        self.pid = None

    def stop(self) -> None:
        """Stop this target's worker (the server kills and reaps it); the fork server stops with its
        last user."""
        self.retire()
        self.server.users.discard(self)
        if not self.server.users:
            self.server.stop()


class _Died(Exception):
    """The worker died (``kind`` crash) or was killed past the timeout (``kind`` hang); ``path`` is
    the execution path the worker reported for its last call before that, if any."""

    def __init__(self, message: str, kind: FailureKind = FailureKind.CRASH, path: dict | None = None,
                 peak_mb: float | None = None):
        super().__init__(message)
        self.kind, self.path, self.peak_mb = kind, path, peak_mb


def _parent_threads() -> int | None:
    torch = sys.modules.get("torch")
    return torch.get_num_threads() if torch is not None else None


class Supervisor:
    """Keeps a target's fork server and worker (both restarted when they die; the worker replaced
    after it changed its torch state or ran out of memory), bounds the time lost to hangs
    (:func:`hang_budget`) and watches the worker's resident memory (:class:`bounds.RssWatch`)."""

    def __init__(self, target):
        self.target = target
        self.worker: Worker | None = None
        self.rss: bounds.RssWatch | None = None
        self._rss_pid: int | None = None
        #: the calls the current worker process has answered, and the last of them (for a crash's message)
        self._served: tuple[int | None, int] = (None, 0)
        self._last: _Call | None = None

    def call(self, fn, target, args, kwargs, describe=None):
        __tracebackhide__ = True
        if self.worker is None or not self.worker.alive():
            if self.worker is not None:
                self.worker.stop()  # reaped, its pipes closed
            self.worker = Worker(target)
        hangs, key = hang_budget(), (_current_test() or fn.__qualname__, target.name)
        limit, why = hangs.limit(key)
        pid = self.worker.pid
        served = self._served[1] if pid is not None and self._served[0] == pid else 0
        start = time.monotonic()
        try:
            status, value = self.worker.request(fn, args, kwargs, limit)
        except _Died as died:
            waited = time.monotonic() - start
            message, kind = f"the target {died}", died.kind
            if kind is FailureKind.HANG:
                message += f"; {why}" if why else ""
            else:
                message, kind = _memory_death(message, kind, died.peak_mb)
            alone = after = None
            if kind is FailureKind.CRASH:
                alone, note, after = self._crash_alone(fn, target, args, kwargs, describe, limit, served)
                message += note
            exc = failure(fn, target, example_of(fn, describe, target, args, kwargs), message, path=died.path,
                          kind=kind)
            exc.details.update(self.rss.fields() if self.rss else {})
            if alone is not None:
                exc.details["crash_alone"] = alone
            if after is not None:
                exc.details["crash_after"] = after
            if kind is FailureKind.HANG:
                hangs.hang(key, waited, str(exc))
            raise exc from None
        self._served = (self.worker.pid, (served if self.worker.pid == pid else 0) + 1)
        self._last = _Call(fn, describe, args, kwargs, _reply_path(status, value))
        leak, fields = self._watch()
        if status == "ok":
            if leak is not None:
                exc = failure(fn, target, example_of(fn, describe, target, args, kwargs), f"the target: {leak}",
                              path=_path_of(value, None), kind=FailureKind.MEMORY)
                exc.details.update(fields)
                raise exc
            if isinstance(value, dict):
                value.update(fields)
            return value
        details = getattr(value, "details", None)
        if isinstance(details, dict):
            details.update(fields)
            if details.get("kind") in (FailureKind.STATE_CHANGED.value, FailureKind.MEMORY.value):
                self.worker.retire()  # the next example runs in a fresh fork
        raise value

    def _crash_alone(self, fn, target, args, kwargs, describe, limit: float,
                     served: int) -> tuple[bool, str, dict | None]:
        """Whether a crash is the call's own: ``(alone, note, after)``. A fresh worker's first call: alone, no
        note. After earlier calls (one of them may have corrupted the worker's memory and left the crash to a
        later one) the call runs again, alone in a fresh worker: alone when it crashes there too; otherwise
        the note names how many calls the crashed worker had answered and the last of them, and ``after``
        scopes that last call (:func:`_call_scope`). The note ends the failure message; the verdict stays a
        crash either way."""
        if not served:
            return True, "", None
        last, after = "", None
        if self._last is not None:
            ex = example_of(self._last.fn, self._last.describe, target, self._last.args, self._last.kwargs)
            last = f"; the last: {self._last.fn.__name__} of {ex.case.describe()}" if ex is not None else ""
            after = _call_scope(self._last.fn.__name__, ex, self._last.path)
        try:
            status, value = self.worker.request(fn, args, kwargs, limit)
        except _Died as again:
            self._served, self._last = (None, 0), None
            if again.kind is FailureKind.CRASH:
                return True, " (it crashed again when run alone in a fresh worker)", None
            return True, f" (run alone in a fresh worker it {again})", None
        self._served, self._last = (self.worker.pid, 1), _Call(fn, describe, args, kwargs, _reply_path(status, value))
        outcome = "passed" if status == "ok" else f"failed ({(getattr(value, 'details', None) or {}).get('kind')})"
        return False, (f"; run alone in a fresh worker the same call did not crash (it {outcome}): memory an earlier "
                       f"call corrupted may be the cause (the crashed worker had answered {served} call(s){last})"), after

    def _watch(self) -> tuple[str | None, dict]:
        """The worker's RSS after a call: a leak message or None, and the fields a record keeps."""
        pid = self.worker.pid if self.worker is not None else None
        if pid is None:
            return None, {}
        if pid != self._rss_pid:  # a fresh worker: its own life
            self.rss = bounds.RssWatch.from_environment(getattr(self.target, "retained_mb_per_call", 0.0))
            self._rss_pid = pid
        leak = self.rss.add(processes.rss_mb(pid))
        return leak, self.rss.fields()

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None


def _call_scope(name: str, ex: Example | None, path: dict | None) -> dict | None:
    """What a deviation entry needs to scope a call of the ``forward`` or ``gradients`` property (its suite
    property name, configuration, dtype, layouts and execution path), as JSON-ready data; None for the
    other properties."""
    if ex is None or name not in ("forward", "gradients"):
        return None
    ops = ex.ops
    if name == "gradients":
        nonfinite = ops is not None and ops.gy is not None and not np.isfinite(ops.gy).all()
        prop = f"gradient_{'nonfinite_' if nonfinite else ''}{ex.wrt}"
    else:
        prop = f"forward_{'exact' if ops is None or ops.mode == 'exact' else 'float'}"
    return {"property": prop, "case": ex.case.to_dict(), "dtype": ex.dtype, "x_layout": ex.x_layout,
            "w_layout": ex.w_layout, "path": path}


def _memory_death(message: str, kind: FailureKind, peak_mb: float | None) -> tuple[str, FailureKind]:
    """A worker that died with its peak resident memory at (90% of) its memory limit ran out of memory."""
    limit = bounds.memory_limit_mb()
    if peak_mb is None or limit <= 0 or peak_mb < 0.9 * limit:
        return message, kind
    return (f"{message}; its peak resident memory, {peak_mb:.0f} MiB, was at the worker's memory limit of "
            f"{limit:g} MiB ({bounds.ENV_MEMORY})"), FailureKind.MEMORY


def _current_test() -> str:
    """The pytest test running now (its id; pytest sets it per test), or "" outside pytest."""
    return os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]


_hangs: bounds.HangBudget | None = None


def hang_budget() -> bounds.HangBudget:
    """This process's :class:`bounds.HangBudget` (its settings read from the environment once)."""
    global _hangs
    if _hangs is None:
        _hangs = bounds.HangBudget.from_environment()
    return _hangs


_supervisors: dict[tuple, Supervisor] = {}
#: live workers at most (each holds the target's library); the least recently used one stops first
MAX_LIVE = 3


def supervisor(target) -> Supervisor:
    key = (target.name, tuple(sorted((getattr(target, "env", {}) or {}).items())), getattr(target, "threads", None))
    sup = _supervisors.pop(key, None) or Supervisor(target)
    _supervisors[key] = sup  # most recently used last
    while len(_supervisors) > MAX_LIVE:
        _supervisors.pop(next(iter(_supervisors))).close()
    return sup


def shutdown() -> None:
    """Stop every worker (also at interpreter exit)."""
    for sup in _supervisors.values():
        sup.close()
    _supervisors.clear()
    for server in list(_servers.values()):
        server.stop()


import atexit  # noqa: E402

atexit.register(shutdown)


# ---- the worker (child side) ------------------------------------------------------------------

def _resolve(module: str, qualname: str):
    """``(function, describe)`` for an isolated function named by module and qualified name."""
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return getattr(obj, "__wrapped__", obj), getattr(obj, "describe", None)


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling; otherwise an AssertionError with its text (and details)."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        plain = AssertionError(f"{type(exc).__name__}: {exc}")
        for attr in ("details", "observations"):
            if hasattr(exc, attr):
                setattr(plain, attr, getattr(exc, attr))
        return plain


def _read_frame(fd: int) -> bytes | None:
    head = _read_exact(fd, _FRAME.size, None)
    if head is None:
        return None
    body = _read_exact(fd, _length(head), None)
    return None if body is None else head + body


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _fork_worker(hello, close: tuple[int, ...]) -> tuple[int, int, int]:
    """Fork a worker; returns ``(pid, its request fd, its reply fd)`` on the server's side."""
    req_r, req_w = os.pipe()
    rep_r, rep_w = os.pipe()
    server = os.getpid()
    pid = os.fork()
    if pid == 0:
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the server's handler
            processes.die_with_parent(signal.SIGKILL, server)  # however the server ends
            processes.limit_memory(bounds.memory_limit_mb())
            for fd in close + (req_w, rep_r):
                os.close(fd)
            _work(hello, req_r, os.fdopen(rep_w, "wb"))
        finally:
            os._exit(0)
    os.close(req_r)
    os.close(rep_w)
    return pid, req_w, rep_r


def _work(hello, requests: int, replies) -> None:
    """The worker loop: run each requested property (twice, poisoned) and send back its outcome."""
    from ..targets import execution, load_target
    # each call's execution path goes to the parent before the target runs, so a crash or a hang
    # is recorded with the path it happened on
    execution.on_path = lambda p: (replies.write(_frame(("path", p), interim=True)), replies.flush())
    _set_threads(hello["threads"])
    while True:
        req = _recv(requests)
        if req is None:
            return
        module, qualname, target_name, threads, args, kwargs = req
        _set_threads(threads)
        try:
            fn, describe = _resolve(module, qualname)
            reply = ("ok", twice(fn, load_target(target_name), args, kwargs, describe))
        except Exception as exc:
            if not hasattr(exc, "details"):
                exc.worker_traceback = traceback.format_exc()
            exc.__traceback__ = None
            reply = ("raise", _portable(exc))
        try:
            _send(replies, reply)
        except Exception as exc:  # an unpicklable result
            _send(replies, ("raise", AssertionError(f"the worker could not return the result: {exc}")))


def _set_threads(n: int | None) -> None:
    """torch's thread count in the worker (a request's count: the caller's, or the target's own)."""
    torch = sys.modules.get("torch")
    if n and torch is not None and torch.get_num_threads() != n:
        torch.set_num_threads(n)


def _stop_server(signum, frame) -> None:
    """The fork server's SIGTERM (from the supervisor, or from the kernel when the supervisor's process
    dies): kill and reap the worker and every orphan of it adopted here, then exit at once."""
    processes.kill_children()
    os._exit(0)


def serve() -> None:
    """The fork server: relays each request to its target's worker (forked on demand; each loads its
    target itself) and the worker's reply back; a worker that dies is reported as ``("died", status,
    peak MiB)``. A control frame from the supervisor (interim-flagged) names the target the next
    request is for, or retires that target's worker. Replies go to the original stdout (fd 1 goes to
    stderr: prints from a target cannot corrupt them). On SIGTERM, at the end of its requests or when
    its parent dies it kills and reaps its workers (their children adopted here with them), then exits."""
    global _in_worker
    _in_worker = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle (it stops us)
    signal.signal(signal.SIGTERM, _stop_server)
    processes.become_subreaper()
    replies = os.dup(1)
    os.dup2(2, 1)
    requests = sys.stdin.buffer.fileno()
    hello = _recv(requests)
    if hello is None:
        return
    processes.die_with_parent(signal.SIGTERM, hello.get("parent"))
    sys.path[:] = hello["sys_path"]
    os.chdir(hello["cwd"])
    import warnings
    for note in WORKER_QUIET:
        warnings.filterwarnings("ignore", message=note)
    with contextlib.suppress(Exception):
        import torch  # noqa: F401  (the built-in targets' library, loaded once, before forking)
    # the isolated functions' modules and what workers import lazily, imported once, before forking
    for module in (*hello.get("preload", ()), *WORKER_IMPORTS):
        with contextlib.suppress(Exception):  # a module that fails here fails its own request, with its error
            importlib.import_module(module)
    own = set(processes.children())  # anything loading started is not a worker's
    workers: dict[str, tuple[int, int, int]] = {}  # by the supervisor's worker id
    current = None

    def end(name: str) -> tuple[int, float]:
        status = _reap(workers.pop(name))
        # what the dead worker left running (adopted here), not the other targets' workers
        processes.kill_children(exclude=own | {w[0] for w in workers.values()})
        return status

    try:
        while True:
            frame = _read_frame(requests)
            if frame is None:
                return  # the supervisor is done: the workers are killed and reaped below
            if _is_path(frame):  # a control frame: ("target", worker id) or ("retire", worker id)
                what, name = pickle.loads(frame[_FRAME.size:])
                if what == "target":
                    current = name
                elif name in workers:  # retire: no reply; the next request forks a fresh worker
                    os.kill(workers[name][0], signal.SIGKILL)
                    end(name)
                continue
            if current not in workers:
                workers[current] = _fork_worker(hello, (requests, replies) + tuple(
                    fd for w in workers.values() for fd in w[1:]))
                _write_all(replies, _frame(("pid", workers[current][0])))
            child = workers[current]
            try:
                _write_all(child[1], frame)
                reply = _read_frame(child[2])
                while reply is not None and _is_path(reply):  # relayed as they come, before the reply
                    _write_all(replies, reply)
                    reply = _read_frame(child[2])
            except OSError:
                reply = None
            if reply is None:
                code, peak_mb = end(current)
                reply = _frame(("died", code, peak_mb))
            _write_all(replies, reply)
    except BrokenPipeError:
        return  # the supervisor is gone
    finally:
        processes.kill_children()


def _reap(child) -> tuple[int, float]:
    """Close a worker's pipes and reap it: its exit code (-signal when killed), its peak RSS in MiB."""
    pid, req_w, rep_r = child
    os.close(req_w)
    os.close(rep_r)
    _, status, usage = os.wait4(pid, 0)
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    return code, usage.ru_maxrss / 1024.0  # kB on Linux


def _is_path(frame: bytes) -> bool:
    return bool(_FRAME.unpack(frame[:_FRAME.size])[0] & _INTERIM)


def _frame(obj, interim: bool = False) -> bytes:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _FRAME.pack(len(data) | (_INTERIM if interim else 0)) + data


if __name__ == "__main__":
    serve()
