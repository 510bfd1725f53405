"""Bounds on what a faulty target may cost a run: time lost to hangs, memory lost to leaks (each limit
a setting of :mod:`conv_oracle.machine.settings`).

Hangs (per process, kept by :class:`HangBudget`): a call waits at most the ``call_timeout`` setting
seconds (default 300) until its test has hung once; later calls of that test wait at most
``hang_timeout`` (default 10), since Hypothesis shrinks a hang through dozens of hanging
variants. A hang is a failure of kind ``hang``; its message says which limit it ran under. Once the
process has waited ``hang_budget`` seconds (default 600) on calls that hung, the next
call of a test that hung fails at once, without running, with :class:`HangBudgetExhausted`: not an
``Exception``, so Hypothesis stops shrinking there and pytest reports it, naming the test's smallest
hang so far (its configuration and snippet; its record, of kind ``hang``, is the one reported).
Failing such calls with an ordinary failure instead would let Hypothesis shrink the hang to an
example that does not hang; giving them a short grace period instead still costs one per shrink
step, and shrinking takes more steps the cheaper they are (about 200 with half a second each). A
test that had not hung gets the short limit once the budget is spent. So one process waits at most
the budget, plus the call that crossed it, plus one short limit per test that first hangs after.

Memory (per worker): the worker's data is capped at ``worker_memory_mb`` MiB (default
8192; 0: no cap; ``RLIMIT_DATA``), so an allocation past it fails (:func:`allocation_failure`: a
``MemoryError``, torch's "not enough memory") and is a failure of kind ``memory``, after which the
worker is replaced. The worker's resident memory is read after every call (:class:`RssWatch`) and
recorded (``worker_rss_mb``, ``worker_rss_growth_mb``: since its first call); a leak is a failure of
kind ``memory``: across the last ``leak_window`` calls (default 20), and across the ``leak_window``
calls before them, the worker grew by more than ``leak_mb_per_call`` (default 2) MiB per call, in
steps of that size in at least half of them, the current call one of those steps. A single large
allocation kept as the allocator's high-water mark is one step, not a trend; a warm-up (a runtime
loading its code and caches over its first calls: a JAX worker grows by 100-140 MiB over its first
25 calls, then stays flat over 1,800) is growth in one window, not in two; the call blamed is one
that grows. A leak
does not replace the worker: it is a trend over calls, and a fresh worker would pass the replay
Hypothesis makes of the failing example (a leaking worker ends at its cap, and is replaced then).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..machine.settings import NAMES, Settings, settings

ENV_TIMEOUT = NAMES["call_timeout"]
ENV_HANG_TIMEOUT = NAMES["hang_timeout"]
ENV_HANG_BUDGET = NAMES["hang_budget"]
ENV_MEMORY = NAMES["worker_memory_mb"]
ENV_LEAK_RATE = NAMES["leak_mb_per_call"]
ENV_LEAK_WINDOW = NAMES["leak_window"]

DEFAULT_TIMEOUT = Settings.call_timeout
DEFAULT_HANG_TIMEOUT = Settings.hang_timeout
DEFAULT_HANG_BUDGET = Settings.hang_budget
DEFAULT_MEMORY_MB = Settings.worker_memory_mb
DEFAULT_LEAK_RATE = Settings.leak_mb_per_call
DEFAULT_LEAK_WINDOW = Settings.leak_window


def call_timeout() -> float:
    return settings().call_timeout


def memory_limit_mb() -> float:
    return settings().worker_memory_mb


# ---- hangs ----------------------------------------------------------------------------------

class HangBudgetExhausted(BaseException):
    """The process's hang budget is spent and this test hung before: the call is not made. A
    ``BaseException`` (like ``KeyboardInterrupt``) so that Hypothesis does not shrink on it."""


@dataclass
class HangBudget:
    """The limits of the calls in one process: which tests hung, the seconds waited on hangs."""

    timeout: float = DEFAULT_TIMEOUT
    short: float = DEFAULT_HANG_TIMEOUT
    budget: float = DEFAULT_HANG_BUDGET
    spent: float = 0.0
    hangs: int = 0
    #: test -> the failure text of its latest hang
    hung: dict = field(default_factory=dict)

    @classmethod
    def from_environment(cls) -> "HangBudget":
        now = settings()
        return cls(now.call_timeout, now.hang_timeout, now.hang_budget)

    def exhausted(self) -> bool:
        return self.spent >= self.budget

    def limit(self, key) -> tuple[float, str]:
        """``(seconds, why)``: how long a call of test ``key`` may take, and why no longer (for the
        message of a hang; empty for the plain timeout). Raises :class:`HangBudgetExhausted` when the
        budget is spent and ``key`` hung before."""
        __tracebackhide__ = True
        if self.exhausted() and key in self.hung:
            raise HangBudgetExhausted(
                f"hang budget exhausted: this process waited {self.spent:.0f} s on {self.hangs} calls that hung "
                f"(budget {self.budget:g} s, {ENV_HANG_BUDGET}); the call was not made and shrinking stopped. "
                f"This test's smallest hang so far:\n{self.hung[key]}")
        if key in self.hung:
            return min(self.short, self.timeout), f"a shorter limit since this test hung before ({ENV_HANG_TIMEOUT})"
        if self.exhausted():
            return (min(self.short, self.timeout),
                    f"a shorter limit since the hang budget of {self.budget:g} s is spent ({ENV_HANG_BUDGET})")
        return self.timeout, ""

    def hang(self, key, seconds: float, text: str) -> None:
        """A call of ``key`` hung: ``seconds`` waited on it; ``text`` describes it (its failure)."""
        self.hung[key] = text
        self.spent += seconds
        self.hangs += 1


# ---- memory ---------------------------------------------------------------------------------

#: what torch (and the C++ runtime under it) says when an allocation fails
ALLOCATION_TEXTS = ("not enough memory", "can't allocate memory", "std::bad_alloc", "out of memory",
                    "cannot allocate memory")


def allocation_failure(exc: BaseException | None) -> BaseException | None:
    """The allocation failure in ``exc`` or its causes (a ``MemoryError``, or an error whose text says
    an allocation failed), or None."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, MemoryError):
            return exc
        if isinstance(exc, RuntimeError) and any(t in str(exc).lower() for t in ALLOCATION_TEXTS):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


class RssWatch:
    """One worker's resident memory after each of its calls (MiB), and the leak test over the last
    two runs of ``window`` calls (see the module docstring)."""

    def __init__(self, rate_mb: float = DEFAULT_LEAK_RATE, window: int = DEFAULT_LEAK_WINDOW, retained_mb: float = 0.0):
        self.rate, self.window = rate_mb + retained_mb, max(2, int(window))
        self.retained = retained_mb
        self.samples: list[float] = []

    @classmethod
    def from_environment(cls, retained_mb: float = 0.0) -> "RssWatch":
        """The settings' rate and window, the rate raised by what the target keeps per call by design
        (:attr:`conv_oracle.targets.Target.retained_mb_per_call`)."""
        now = settings()
        return cls(now.leak_mb_per_call, now.leak_window, retained_mb)

    def add(self, rss_mb: float | None) -> str | None:
        """Record the RSS after a call; a message when the worker leaks (and this call grew it)."""
        if rss_mb is None:
            return None
        self.samples.append(rss_mb)
        if len(self.samples) <= 2 * self.window or self.rate <= 0:
            return None
        w = self.window
        recent, before = self._trend(self.samples[-w - 1:]), self._trend(self.samples[-2 * w - 1:-w])
        last = self.samples[-1] - self.samples[-2]
        if last >= self.rate and recent is not None and before is not None:
            growth, big = recent
            return (f"the worker's resident memory grew by {growth:.1f} MiB over its last {w} calls "
                    f"({growth / w:.2f} MiB per call, above {self.rate:g}; {big} of them grew it by "
                    f"{self.rate:g} MiB or more, this one by {last:.1f} MiB), and by {before[0]:.1f} MiB over "
                    f"the {w} before"
                    + (f" ({self.retained:g} MiB per call allowed for what the target keeps)" if self.retained else "")
                    + f": a leak ({ENV_LEAK_RATE}, {ENV_LEAK_WINDOW})")
        return None

    def _trend(self, samples: list[float]) -> tuple[float, int] | None:
        """``(growth, steps of the rate or more)`` when ``samples`` (a window's calls and the one before)
        grew by more than the rate per call, in such steps for at least half of the calls; else None."""
        steps = [b - a for a, b in zip(samples, samples[1:])]
        growth, big = samples[-1] - samples[0], sum(s >= self.rate for s in steps)
        return (growth, big) if growth > self.rate * self.window and 2 * big >= self.window else None

    def fields(self) -> dict:
        """What a record keeps: the RSS after this call and the growth since the worker's first call."""
        if not self.samples:
            return {}
        return {"worker_rss_mb": round(self.samples[-1], 1),
                "worker_rss_growth_mb": round(self.samples[-1] - self.samples[0], 1)}
