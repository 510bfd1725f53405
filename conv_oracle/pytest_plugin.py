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
import warnings

import pytest



class KnownDeviationWarning(UserWarning):
    """A known-deviations entry that matches no collected test (the list has gone stale)."""


def pytest_addoption(parser):
    group = parser.getgroup("conv_oracle")
    group.addoption("--target", action="append", default=None, metavar="NAME",
                    help="target to check (repeatable): torch, torch-no-mkldnn, torch-cuda, torch-cuda-no-tf32, "
                         "torch-compile, onnxruntime, or an importable module path. Env: CONV_ORACLE_TARGET (comma separated)")
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


def pytest_configure(config):
    config.addinivalue_line("markers", "differential: a target-vs-oracle property of the conv_oracle suite")
    # torch's notes on expected behaviour, not findings: 'same' with an even kernel copies the input;
    # toggling oneDNN mentions TF32 on Intel GPUs
    config.addinivalue_line("filterwarnings", "ignore:Using padding='same' with even kernel lengths:UserWarning")
    config.addinivalue_line("filterwarnings", "ignore:TF32 acceleration on top of oneDNN:UserWarning")
    from .records import Recorder
    config._conv_oracle_recorder = Recorder()
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if workers > 1:  # share the cores between xdist workers: oversubscribed OpenMP threads spin for ms per call
        import torch
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


def pytest_report_header(config):
    lines = [f"conv_oracle targets: {', '.join(target_names(config))}"]
    try:
        import torch
        from .targets import load_target
        build = f"cuda {torch.version.cuda}" if torch.version.cuda else "cpu"
        lines.append(f"torch {torch.__version__} ({build} build, git {torch.version.git_version[:10]}), "
                     f"cpu capability {torch.backends.cpu.get_cpu_capability()}")
        lines.append(f"backends: mkldnn(oneDNN) enabled={torch.backends.mkldnn.enabled} "
                     f"available={torch.backends.mkldnn.is_available()}, "
                     f"cudnn.allow_tf32={torch.backends.cudnn.allow_tf32}, "
                     f"cuda.matmul.allow_tf32={torch.backends.cuda.matmul.allow_tf32}, "
                     f"deterministic={torch.are_deterministic_algorithms_enabled()}, "
                     f"cuda available={torch.cuda.is_available()}, threads={torch.get_num_threads()}")
        for name in target_names(config):
            try:
                t = load_target(name)
                lines.append(f"  target {name}: {t.description} [device={t.device}, tf32={t.tf32}; "
                             f"{t.capability.summary()}]")
            except Exception as exc:  # shown, and the tests themselves report it as an error
                lines.append(f"  target {name}: cannot load ({exc})")
    except ImportError:
        lines.append("torch: not installed")
    from hypothesis import settings
    prof = settings.default
    lines.append(f"hypothesis profile: {settings._current_profile} (max_examples={prof.max_examples}, "
                 f"derandomize={prof.derandomize}, deadline={prof.deadline}); "
                 f"seed: {config.getoption('hypothesis_seed', None) or ('derandomized' if prof.derandomize else 'random')}")
    records = config.getoption("--records")
    if records:
        lines.append(f"records: {records}")
    return lines


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
    """``with record(prop, target, case, **fields) as rec:`` wraps one example and records it.

    Session-scoped (Hypothesis re-runs a test body many times); the current test's id comes from
    ``PYTEST_CURRENT_TEST``."""
    recorder = request.config._conv_oracle_recorder

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
        item.config._conv_oracle_recorder.mark_reported(item.nodeid)


def _worker_id(config) -> str:
    return getattr(config, "workerinput", {}).get("workerid", "main")


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    folder = config.getoption("--records")
    if not folder:
        return
    recorder = config._conv_oracle_recorder
    recorder.write(folder, _worker_id(config))
    if not hasattr(config, "workerinput"):
        from .records import merge  # the controller (or a plain run) merges every part
        merge(folder)
