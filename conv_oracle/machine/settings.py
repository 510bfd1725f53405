"""The settings read from the environment: every ``CONV_ORACLE_*`` variable, read here and nowhere else.

:func:`settings` parses them once per process into a frozen :class:`Settings` (one typed field per
variable, its default, its parse rule) and caches it; :func:`reload` reads them again (tests that
set variables, and the CLI after it sets one for a child). A variable that is unset or empty (blanks
only) takes its default; a malformed value raises :class:`SettingsError`, one line naming the
variable, the value and the rule. Other modules name a variable through :data:`NAMES` (e.g. to set
it for a child process), never by its literal name.

The variables, their meanings and defaults: :func:`table` (the README's table, checked by a test).
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Callable, Mapping

PREFIX = "CONV_ORACLE_"

_TRUE = ("on", "1", "yes", "true")
_FALSE = ("off", "0", "no", "false")


class SettingsError(ValueError):
    """A malformed ``CONV_ORACLE_*`` value: ``str()`` is one line naming the variable, the value and the rule."""

    def __init__(self, variable: str, value: str, rule: str):
        self.variable, self.value, self.rule = variable, value, rule
        super().__init__(f"{variable}={value!r}: must be {rule}")


def _names(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names:
        raise ValueError
    return names


def _switch(text: str) -> bool:
    key = text.lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise ValueError
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError
    return value


def _db_location(text: str) -> str:
    if "://" in text and not text.startswith(("redis://", "rediss://")):
        raise ValueError
    return text


def _ort_kernels(text: str) -> tuple[str, tuple[str, ...]]:
    version, _, dtypes = text.partition(":")
    names = tuple(d.strip() for d in dtypes.split(","))
    if not version.strip() or names not in (("float32",), ("float32", "float16")):
        raise ValueError
    return version.strip(), names


def _setting(variable: str, default, parse: Callable[[str], object], rule: str, meaning: str):
    return field(default=default, metadata={"variable": PREFIX + variable, "parse": parse, "rule": rule,
                                            "meaning": meaning})


@dataclass(frozen=True)
class Settings:
    """One field per ``CONV_ORACLE_*`` variable (its metadata: the variable, the parse rule, the meaning)."""

    targets: tuple[str, ...] = _setting(
        "TARGET", ("torch",), _names, "comma-separated target names, at least one",
        "targets to check when --target is not given")
    records: str | None = _setting(
        "RECORDS", None, str, "a folder", "folder for the per-example records when --records is not given")
    db: str | None = _setting(
        "DB", None, _db_location, "a folder or a redis://host:port/N URL",
        "the Hypothesis example database when --db is not given (conv-oracle run / fuzz: <out>/examples)")
    db_read_only: bool = _setting(
        "DB_READ_ONLY", False, _switch, f"one of {', '.join(_TRUE + _FALSE)}",
        "replay the example database without writing to it")
    profile: str = _setting("PROFILE", "ci", str, "a Hypothesis profile name", "the Hypothesis profile loaded by default")
    isolation: bool = _setting(
        "ISOLATION", True, _switch, f"one of {', '.join(_TRUE + _FALSE)}",
        "run properties in supervised worker processes")
    call_timeout: float = _setting(
        "CALL_TIMEOUT", 300.0, _seconds, "a positive number of seconds",
        "seconds one isolated call may take before it counts as a hang")
    hang_timeout: float = _setting(
        "HANG_TIMEOUT", 10.0, _seconds, "a positive number of seconds",
        "seconds a call may take once its test has hung (Hypothesis shrinks a hang through many hanging variants)")
    hang_budget: float = _setting(
        "HANG_BUDGET", 600.0, _seconds, "a positive number of seconds",
        "seconds a process may wait on hanging calls before a test that hung stops shrinking")
    worker_memory_mb: float = _setting(
        "WORKER_MEMORY_MB", 8192.0, _non_negative, "a number of MiB, 0 for no cap",
        "cap on an isolated worker's data (RLIMIT_DATA); an allocation past it is a memory failure")
    leak_mb_per_call: float = _setting(
        "LEAK_MB_PER_CALL", 2.0, _seconds, "a positive number of MiB",
        "worker growth per call that counts as a leak (over two leak windows in a row)")
    leak_window: int = _setting("LEAK_WINDOW", 20, _positive_int, "a positive integer",
                                "the calls over which a worker's growth is judged a leak (two windows in a row)")
    max_side: int = _setting("MAX_SIDE", 9, _positive_int, "a positive integer", "the strategies' largest spatial length")
    max_channels: int = _setting("MAX_CHANNELS", 3, _positive_int, "a positive integer",
                                 "the strategies' most channels per group")
    max_batch: int = _setting("MAX_BATCH", 3, _positive_int, "a positive integer", "the strategies' largest batch")
    ort_kernels: tuple[str, tuple[str, ...]] | None = _setting(
        "ORT_KERNELS", None, _ort_kernels, "VERSION:DTYPE[,DTYPE] with float32 first, e.g. 1.32.0:float32,float16",
        "internal: ONNX Runtime's version and the dtypes its CPU kernels run, as the process that probed them "
        "tells its children (which then skip the probe)")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Parse ``environ`` (default ``os.environ``); unset or blank variables take their defaults."""
        environ = os.environ if environ is None else environ
        values = {}
        for f in dataclasses.fields(cls):
            variable = f.metadata["variable"]
            text = environ.get(variable, "").strip()
            if not text:
                continue
            try:
                values[f.name] = f.metadata["parse"](text)
            except ValueError:
                raise SettingsError(variable, environ[variable], f.metadata["rule"]) from None
        return cls(**values)


#: field name -> its environment variable
NAMES: dict[str, str] = {f.name: f.metadata["variable"] for f in dataclasses.fields(Settings)}

_current: Settings | None = None


def settings() -> Settings:
    """This process's settings, parsed from the environment on first use."""
    global _current
    if _current is None:
        _current = Settings.from_environ()
    return _current


def reload() -> Settings:
    """Read the environment again (after a test or the CLI changed it) and return the new settings."""
    global _current
    _current = None
    return settings()


def table() -> list[tuple[str, str, str]]:
    """``(variable, meaning, default)`` for each setting, in field order (the README's table)."""
    out = []
    for f in dataclasses.fields(Settings):
        default = f.default
        if isinstance(default, bool):
            default = "on" if default else "off"
        elif isinstance(default, tuple):
            default = ",".join(default)
        elif isinstance(default, float) and default.is_integer():
            default = int(default)
        out.append((f.metadata["variable"], f.metadata["meaning"], "none" if default is None else str(default)))
    return out
