"""pytest plugin for the differential suite: targets, report header, known deviations, records.

pytest loads it through the package's ``pytest11`` entry point, so the options work for
``pytest conv_oracle/suite``, ``pytest --pyargs conv_oracle.suite`` and other projects' suites alike. Options:

* ``--target NAME`` (repeatable; or ``CONV_ORACLE_TARGET=a,b``): implementations to check
  (default ``torch``). Tests taking a ``target`` fixture run once per target.
* ``--known-deviations FILE``: plain-text list of expected failures, applied as skips
  (default: the suite's own ``conv_oracle/suite/known_deviations.txt``).
* ``--records DIR`` (or ``CONV_ORACLE_RECORDS``): write one JSON record per checked example.
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
import warnings

import pytest



class KnownDeviationWarning(UserWarning):
    """A known-deviations entry that matches no collected test (the list has gone stale)."""


def pytest_addoption(parser):
    group = parser.getgroup("conv_oracle")
    group.addoption("--target", action="append", default=None, metavar="NAME",
                    help="target to check (repeatable): torch, torch-no-mkldnn, torch-cuda, torch-cuda-no-tf32, "
                         "torch-compile, or an importable module path. Env: CONV_ORACLE_TARGET (comma separated)")
    group.addoption("--known-deviations", default=None, metavar="FILE",
                    help="known deviations (skips with reasons); default conv_oracle/suite/known_deviations.txt")
    group.addoption("--records", default=os.environ.get("CONV_ORACLE_RECORDS"), metavar="DIR",
                    help="write per-example records (JSONL) into DIR. Env: CONV_ORACLE_RECORDS")


def target_names(config) -> list[str]:
    names = config.getoption("--target")
    if not names:
        env = os.environ.get("CONV_ORACLE_TARGET", "")
        names = [n.strip() for n in env.split(",") if n.strip()] or ["torch"]
    return list(dict.fromkeys(names))


def active(config) -> bool:
    """Whether this session runs the suite: ``--target`` or ``--records`` given, or an argument names
    the suite (or a folder holding it). Otherwise the plugin stays silent: no header, no imports of torch or
    Hypothesis, no thread counts, no warning filters."""
    cached = getattr(config, "_conv_oracle_active", None)
    if cached is not None:
        return cached
    result = bool(config.getoption("--target") or config.getoption("--records"))
    for arg in config.args or []:
        if result:
            break
        arg = str(arg).split("::")[0]
        if config.getoption("pyargs", False) and (arg == "conv_oracle" or arg.startswith("conv_oracle.suite")):
            result = True
            continue
        path = os.path.abspath(arg)
        result = path.startswith(SUITE_DIR) or SUITE_DIR.startswith(path.rstrip(os.sep) + os.sep)
    config._conv_oracle_active = result
    return result


@pytest.hookimpl(tryfirst=True)  # before Hypothesis' plugin loads --hypothesis-profile
def pytest_configure(config):
    config.addinivalue_line("markers", "differential: a target-vs-oracle property of the conv_oracle suite")
    if config.getoption("hypothesis_profile", None) or active(config):
        from .profiles import register_profiles
        register_profiles()
    if not active(config):
        return
    if not config.getoption("hypothesis_profile", None):
        from .profiles import load_default
        load_default()
    _check_targets(config)
    # torch's notes on expected behaviour, not findings: 'same' with an even kernel copies the input;
    # toggling oneDNN mentions TF32 on Intel GPUs
    config.addinivalue_line("filterwarnings", "ignore:Using padding='same' with even kernel lengths:UserWarning")
    config.addinivalue_line("filterwarnings", "ignore:TF32 acceleration on top of oneDNN:UserWarning")
    folder = config.getoption("--records")
    if folder and not hasattr(config, "workerinput"):
        _remove_stale_parts(folder)
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if workers > 1:  # share the cores between xdist workers: oversubscribed OpenMP threads spin for ms per call
        import torch
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


def _check_targets(config) -> None:
    """Every target loads and can run here; otherwise one line and pytest's usage-error status."""
    from .errors import ConvConfigError
    from .targets import load_target
    for name in target_names(config):
        try:
            t = load_target(name)
        except ConvConfigError as exc:
            raise pytest.UsageError(f"--target {name}: {exc.rule}") from None
        if t.device == "cuda" and not t.functions:
            raise pytest.UsageError(f"--target {name}: CUDA is not available on this machine (environment)")


def _remove_stale_parts(folder: str) -> None:
    import glob
    for part in glob.glob(os.path.join(folder, "records.*.jsonl")):
        os.unlink(part)


def _recorder(config):
    rec = getattr(config, "_conv_oracle_recorder", None)
    if rec is None:
        from .records import Recorder
        rec = config._conv_oracle_recorder = Recorder(config.getoption("--records"), _worker_id(config))
    return rec


def seed_text(config) -> str:
    """The seed as the header and the report show it."""
    from hypothesis import settings
    seed = config.getoption("hypothesis_seed", None)
    if seed is not None:
        return str(seed)
    return "derandomized" if settings.default.derandomize else "random (Hypothesis prints it with a failure)"


def pytest_report_header(config):
    if not active(config):
        return None
    from . import fingerprint
    from .targets import load_target
    from hypothesis import settings
    lines = [f"conv_oracle targets: {', '.join(target_names(config))}",
             f"environment: {fingerprint.summary_line(fingerprint.fingerprint())}"]
    for name in target_names(config):
        t = load_target(name)
        lines.append(f"  target {name}: {t.description} [device={t.device}, tf32={t.tf32}]")
    from . import isolation
    lines.append(f"isolation: {'on (each target in a supervised worker)' if isolation.enabled() else 'off'}")
    prof = settings.default
    lines.append(f"hypothesis profile: {settings.get_current_profile_name()} (max_examples={prof.max_examples}, "
                 f"derandomize={prof.derandomize}, deadline={prof.deadline}); seed: {seed_text(config)}")
    records = config.getoption("--records")
    if records:
        lines.append(f"records: {records}")
    return lines


def pytest_sessionstart(session):
    """A ``--hypothesis-seed`` applies to a derandomized profile too (as a seeded copy of it)."""
    config = session.config
    if config.getoption("hypothesis_seed", None) is None or "hypothesis" not in sys.modules:
        return
    from hypothesis import settings
    if settings.default.derandomize:
        name = f"{settings.get_current_profile_name()}-seeded"
        settings.register_profile(name, settings.default, derandomize=False)
        settings.load_profile(name)


def pytest_generate_tests(metafunc):
    if "target" in metafunc.fixturenames:
        names = target_names(metafunc.config)
        metafunc.parametrize("target", names, indirect=True, ids=names, scope="session")


@pytest.fixture(scope="session")
def target(request):
    """The :class:`~conv_oracle.targets.Target` under test (skips when it cannot run here)."""
    from .targets import load_target
    t = load_target(request.param)
    if t.device == "cuda" and not t.functions:
        pytest.skip(f"{t.name}: CUDA is not available on this machine")
    return t


@pytest.fixture(scope="session")
def record(request):
    """``with record(prop, target, case, **fields) as rec:`` wraps one example and records it
    (streamed to ``--records`` as it ends).

    Session-scoped (Hypothesis re-runs a test body many times); the current test's id comes from
    ``PYTEST_CURRENT_TEST``."""
    recorder = _recorder(request.config)

    def example(prop, target, case, **fields):
        nodeid = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
        return recorder.example(prop, nodeid, target.name, case, **fields)

    return example


# ---- known deviations ------------------------------------------------------------------------

def parse_deviations(path: str) -> list[dict]:
    """Entries ``[torch=GLOB] [target=NAME] NODEID-PATTERN  # reason``; ``*`` matches anything in the
    pattern; the reason is required. ``torch=`` limits an entry to torch versions, ``target=`` to runs
    that include that target (an entry for a target not being run is neither applied nor stale)."""
    entries = []
    with open(path, encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            pattern, _, reason = line.partition("#")
            if not reason.strip():
                raise pytest.UsageError(f"{path}:{lineno}: a known deviation needs a '# reason': {line!r}")
            entry = {"torch": None, "target": None, "reason": reason.strip(), "line": lineno}
            pattern = pattern.strip()
            while pattern.split(" ", 1)[0].partition("=")[0] in ("torch", "target"):
                token, _, pattern = pattern.partition(" ")
                key, _, value = token.partition("=")
                entry[key] = value
                pattern = pattern.strip()
            if not pattern:
                raise pytest.UsageError(f"{path}:{lineno}: expected '[torch=GLOB] [target=NAME] NODEID-PATTERN  "
                                        f"# reason': {line!r}")
            entry["pattern"] = pattern
            entries.append(entry)
    return entries


def _matches(pattern: str, nodeid: str) -> bool:
    """``*`` is the only wildcard: test ids are full of ``[`` ``]`` that fnmatch would misread."""
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), nodeid) is not None


SUITE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "suite")


@pytest.hookimpl(tryfirst=True)  # before -k / -m deselection: match against everything collected
def pytest_collection_modifyitems(session, config, items):
    path = config.getoption("--known-deviations")
    if not path:  # the suite's own list applies to the suite's own tests only
        path = os.path.join(SUITE_DIR, "known_deviations.txt")
        items = [it for it in items if str(it.path).startswith(SUITE_DIR)]
        if not items:
            return
    try:
        import torch
        version = torch.__version__
    except ImportError:
        version = ""
    for entry in parse_deviations(path):
        if entry["torch"] and not fnmatch.fnmatch(version, entry["torch"]):
            continue
        if entry["target"] and entry["target"] not in target_names(config):
            continue
        matched = [it for it in items if _matches(entry["pattern"], it.nodeid)]
        for item in matched:
            item.add_marker(pytest.mark.skip(reason=f"known deviation: {entry['reason']}"))
        module = entry["pattern"].split("::")[0]
        if not matched and any(_matches(module, it.nodeid.split("::")[0]) for it in items):  # its file ran, the test did not
            warnings.warn(KnownDeviationWarning(
                f"{path}:{entry['line']}: known deviation {entry['pattern']!r} matches no collected test"))


# ---- records ---------------------------------------------------------------------------------

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test's report comes from its last failing example (Hypothesis' minimal one): flag it."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and item.config.getoption("--records"):
        rec = getattr(item.config, "_conv_oracle_recorder", None)
        if rec is not None:
            rec.mark_reported(item.nodeid)


def _worker_id(config) -> str:
    return getattr(config, "workerinput", {}).get("workerid", "main")


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    rec = getattr(config, "_conv_oracle_recorder", None)
    if rec is not None:
        rec.close()
    if "conv_oracle.isolation" in sys.modules:
        sys.modules["conv_oracle.isolation"].shutdown()
    folder = config.getoption("--records")
    if folder and active(config) and not hasattr(config, "workerinput"):
        from .records import merge  # the controller (or a plain run) merges every part
        merge(folder)
