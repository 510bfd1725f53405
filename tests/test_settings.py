"""The settings module: every ``CONV_ORACLE_*`` variable parsed in one place, once, with one-line errors."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings

import conv_oracle
from conv_oracle.machine import settings as mod
from conv_oracle.machine.settings import NAMES, Settings, SettingsError

PACKAGE = Path(conv_oracle.__file__).resolve().parent
ROOT = PACKAGE.parent

DEFAULTS = {"targets": ("torch",), "records": None, "db": None, "db_read_only": False, "profile": "ci", "isolation": True, "call_timeout": 300.0,
            "hang_timeout": 10.0, "hang_budget": 600.0, "worker_memory_mb": 8192.0, "leak_mb_per_call": 2.0,
            "leak_window": 20, "max_side": 9, "max_channels": 3, "max_batch": 3, "ort_kernels": None}


def test_defaults():
    assert dataclasses.asdict(Settings.from_environ({})) == DEFAULTS
    assert Settings.from_environ({}) == Settings()


def test_every_field_has_one_variable_of_its_own():
    variables = [f.metadata["variable"] for f in dataclasses.fields(Settings)]
    assert len(set(variables)) == len(variables) == len(DEFAULTS)
    assert all(re.fullmatch(r"CONV_ORACLE_[A-Z_]+", v) for v in variables)
    assert NAMES == dict(zip((f.name for f in dataclasses.fields(Settings)), variables))


@pytest.mark.parametrize("field, text, value", [
    ("targets", "torch-no-mkldnn", ("torch-no-mkldnn",)),
    ("targets", " torch , torch-no-mkldnn,,torch ", ("torch", "torch-no-mkldnn")),  # blanks dropped, once each
    ("records", "/tmp/records", "/tmp/records"),
    ("db", "reports/examples", "reports/examples"), ("db", "redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    ("db_read_only", "on", True), ("db_read_only", "0", False),
    ("profile", "thorough", "thorough"),
    ("isolation", "off", False), ("isolation", "OFF", False), ("isolation", "0", False), ("isolation", "no", False),
    ("isolation", "false", False), ("isolation", "on", True), ("isolation", "1", True), ("isolation", "Yes", True),
    ("call_timeout", "2.5", 2.5), ("call_timeout", "60", 60.0),
    ("max_side", "5", 5), ("max_channels", " 160 ", 160), ("max_batch", "1", 1),
    ("ort_kernels", "1.32.0:float32,float16", ("1.32.0", ("float32", "float16"))),
    ("ort_kernels", " 1.20.1:float32 ", ("1.20.1", ("float32",))),
    ("hang_timeout", "5", 5.0), ("hang_budget", "30", 30.0), ("worker_memory_mb", "0", 0.0),
    ("worker_memory_mb", "512", 512.0), ("leak_mb_per_call", "0.5", 0.5), ("leak_window", "7", 7),
])
def test_parse(field, text, value):
    parsed = Settings.from_environ({NAMES[field]: text})
    assert getattr(parsed, field) == value
    assert dataclasses.asdict(parsed) == {**DEFAULTS, field: value}  # the others keep their defaults


@pytest.mark.parametrize("field", sorted(DEFAULTS))
@pytest.mark.parametrize("text", ["", "   "])
def test_unset_or_blank_is_the_default(field, text):
    assert getattr(Settings.from_environ({NAMES[field]: text}), field) == DEFAULTS[field]


@pytest.mark.parametrize("field, text, rule", [
    ("targets", ",", "comma-separated target names"),
    ("isolation", "maybe", "one of on, 1, yes, true, off, 0, no, false"),
    ("call_timeout", "soon", "a positive number of seconds"),
    ("call_timeout", "0", "a positive number of seconds"),
    ("call_timeout", "-1", "a positive number of seconds"),
    ("call_timeout", "inf", "a positive number of seconds"),
    ("call_timeout", "nan", "a positive number of seconds"),
    ("max_side", "abc", "a positive integer"),
    ("max_side", "2.5", "a positive integer"),
    ("max_channels", "0", "a positive integer"),
    ("max_batch", "-3", "a positive integer"),
    ("ort_kernels", "float32", "VERSION:DTYPE[,DTYPE]"),
    ("ort_kernels", "1.32.0:float16", "VERSION:DTYPE[,DTYPE]"),
    ("ort_kernels", ":float32", "VERSION:DTYPE[,DTYPE]"),
    ("hang_budget", "0", "a positive number of seconds"),
    ("worker_memory_mb", "-1", "a number of MiB, 0 for no cap"),
    ("leak_mb_per_call", "none", "a positive number of MiB"),
    ("leak_window", "0", "a positive integer"),
    ("db", "http://host/db", "a folder or a redis://host:port/N URL"),
    ("db_read_only", "sometimes", "one of on, 1, yes, true, off, 0, no, false"),
])
def test_malformed_value_is_one_line_naming_variable_value_and_rule(field, text, rule):
    with pytest.raises(SettingsError) as info:
        Settings.from_environ({NAMES[field]: text})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{NAMES[field]}={text!r}: must be ") and rule in message
    assert (info.value.variable, info.value.value) == (NAMES[field], text)


def test_read_once_until_reload(monkeypatch):
    first = mod.settings()
    assert mod.settings() is first  # cached
    monkeypatch.setenv(NAMES["max_side"], "4")
    assert mod.settings().max_side == first.max_side  # not read again on its own
    assert mod.reload().max_side == 4 and mod.settings().max_side == 4


def test_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        mod.settings().max_side = 1


def test_strategies_take_their_bounds_when_built_not_when_drawn(monkeypatch):
    from conv_oracle import strategies as cs
    monkeypatch.setenv(NAMES["max_side"], "3")
    monkeypatch.setenv(NAMES["max_channels"], "1")
    mod.reload()
    strategy = cs.cases(op="conv", nd=1)
    monkeypatch.setenv(NAMES["max_side"], "9")
    monkeypatch.setenv(NAMES["max_channels"], "3")
    mod.reload()

    @hypothesis_settings(max_examples=60, suppress_health_check=list(HealthCheck), database=None)
    @given(strategy)
    def bounded(case):
        assert case.in_channels <= case.groups and case.out_channels <= case.groups
        assert max(case.input_size) <= 3 + max(case.kernel_size) * 3  # 'valid' may grow L to the kernel

    bounded()


def test_cli_malformed_setting_is_a_usage_error(monkeypatch, capsys):
    from conv_oracle import cli
    monkeypatch.setenv(NAMES["call_timeout"], "soon")
    with pytest.raises(SettingsError):
        mod.reload()
    assert cli.main(["explain", "conv1d", "--input", "4", "--kernel", "2"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err == ("conv-oracle explain: error: CONV_ORACLE_CALL_TIMEOUT='soon': must be a positive number of "
                   "seconds\n")


@pytest.mark.e2e
def test_pytest_malformed_setting_is_a_usage_error():
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("CONV_ORACLE_")}
    env[NAMES["max_batch"]] = "0"
    r = subprocess.run([sys.executable, "-m", "pytest", str(PACKAGE / "suite" / "test_shapes.py"), "--co", "-q",
                        "-p", "no:cacheprovider"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode == 4, out
    assert out.strip() == "ERROR: CONV_ORACLE_MAX_BATCH='0': must be a positive integer", out


def test_the_package_reads_no_variable_outside_settings():
    """One place: no module but settings.py names a ``CONV_ORACLE_*`` variable (others use ``NAMES``)."""
    found = []
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix not in (".py", ".toml", ".txt", ".cfg") or path == PACKAGE / "machine" / "settings.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "CONV_ORACLE_" in line:
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


def test_readme_table_is_the_settings_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = [f"| `{variable}` | {meaning} | {default} |" for variable, meaning, default in mod.table()]
    assert "\n".join(["| variable | meaning | default |", "|---|---|---|", *rows]) in readme
