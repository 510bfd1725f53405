"""Process hygiene (Linux; no-ops elsewhere): no process of a run outlives it, not even as a zombie.

* :func:`die_with_parent`: the kernel signals this process when its parent exits, however the parent
  dies (``PR_SET_PDEATHSIG``). "Parent" is the *thread* that forked us: a process started from a
  thread that ends gets the signal then.
* :func:`become_subreaper`: orphans among this process's descendants are re-parented here rather than
  to the system's init (``PR_SET_CHILD_SUBREAPER``), so :func:`kill_children` can stop and reap them.
  An init that reaps late (seconds, on some virtual machines) would otherwise leave them as zombies
  that still count as members of the process group.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
_KILL = getattr(signal, "SIGKILL", signal.SIGTERM)


@functools.lru_cache(maxsize=None)
def _prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _call_prctl(option: int, arg: int) -> bool:
    prctl = _prctl()
    if prctl is None:
        return False
    return prctl(ctypes.c_int(option), ctypes.c_ulong(arg), ctypes.c_ulong(0), ctypes.c_ulong(0),
                 ctypes.c_ulong(0)) == 0


def die_with_parent(sig: int = _KILL, parent: int | None = None) -> bool:
    """Get ``sig`` when the parent exits. With ``parent`` (the pid this process was started by), a
    parent that exited before the call is caught too: the signal comes at once."""
    ok = _call_prctl(PR_SET_PDEATHSIG, int(sig))
    if ok and parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), sig)
    return ok


def become_subreaper() -> bool:
    """Adopt the orphans among this process's descendants (not inherited by forked children)."""
    return _call_prctl(PR_SET_CHILD_SUBREAPER, 1)


def children(pid: int | None = None, alive: bool = False) -> list[int]:
    """The ids of ``pid``'s (default: this process's) child processes, from /proc; [] without it.
    ``alive``: leave out those that have ended and wait to be reaped (zombies)."""
    pid = os.getpid() if pid is None else pid
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            state, ppid = fields[0], int(fields[1])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile, or not ours to read
        if ppid == pid and not (alive and state in (b"Z", b"X")):
            found.append(int(entry))
    return found


def kill_children(exclude=()) -> list[int]:
    """SIGKILL every child of this process (adopted orphans included) but ``exclude`` and reap each,
    again until none is left (a killed child's own children are adopted next when we are their
    subreaper). Only for children nobody else waits for. Returns the ids killed."""
    killed: list[int] = []
    for _ in range(100):
        pids = [p for p in children() if p not in exclude]
        if not pids:
            break
        for p in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(p, _KILL)
        for p in pids:
            with contextlib.suppress(ChildProcessError, InterruptedError):
                os.waitpid(p, 0)
        killed += pids
    return killed


def rss_mb(pid: int | None = None) -> float | None:
    """The resident set size of ``pid`` (default: this process) in MiB, from /proc (``VmRSS``); None
    without it, or when the process is gone."""
    pid = os.getpid() if pid is None else pid
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) / 1024.0  # kB
    except (OSError, IndexError, ValueError):
        pass
    return None


def limit_memory(mib: float) -> bool:
    """Cap this process's data (heap and private writable mappings: ``RLIMIT_DATA``) at ``mib`` MiB, so
    an allocation past it fails (``MemoryError``, torch's "not enough memory") instead of taking the
    machine. Address space reserved but not writable (thread stacks' guards, allocator arenas) does
    not count. False where it cannot be set (no ``resource``, a lower hard limit is kept as it is)."""
    try:
        import resource
    except ImportError:
        return False
    if mib <= 0:
        return False
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    want = int(mib * (1 << 20))
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    try:
        resource.setrlimit(resource.RLIMIT_DATA, (want, hard))
        return True
    except (ValueError, OSError):
        return False
