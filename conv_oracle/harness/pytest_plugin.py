"""pytest plugin for the differential suite: targets, report header, known deviations, records.

pytest loads it through the package's ``pytest11`` entry point, so the options work for
``pytest conv_oracle/suite``, ``pytest --pyargs conv_oracle.suite`` and other projects' suites alike. Options:

* ``--target NAME`` (repeatable; or the ``targets`` setting, :mod:`conv_oracle.machine.settings`):
  implementations to check (default ``torch``). Tests taking a ``target`` fixture run once per target.
* ``--known-deviations FILE`` (repeatable): TOML files of known deviations, scoped by op, dtype,
  backend, ISA level, torch version and configuration (:mod:`conv_oracle.harness.deviations`), applied per
  example on top of the suite's own ``conv_oracle/suite/known_deviations.toml``.
* ``--records DIR`` (or the ``records`` setting): write one JSON record per checked example.
* ``--db LOCATION`` (or the ``db`` setting): the Hypothesis example database, a folder or a
  ``redis://host:port/N`` URL, shared across targets and machines (:mod:`conv_oracle.harness.examples`);
  ``--db-read-only`` replays it without writing. Derandomized profiles run seeded per test exactly as
  Hypothesis' ``derandomize=True`` seeds them, but with the database, so it is replayed there too.
* ``--fuzz-progress DIR``: count the examples per verdict into ``DIR`` (:mod:`conv_oracle.harness.fuzzing`;
  set by ``conv-oracle fuzz`` for its HypoFuzz workers).

``target`` and ``record`` are parametrized directly (HypoFuzz hands a test its parametrized arguments), and
under HypoFuzz the plugin makes pytest compute a torn-down fixture anew when HypoFuzz comes back to a test
(:func:`pytest_fixture_post_finalizer`), so HypoFuzz runs every property.

Per-session state (whether the plugin is active, the recorder, the known deviations, the deviation
tallies) lives on ``config.stash`` under the keys below, never in module globals.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys

import pytest

from ..machine.settings import NAMES, SettingsError, settings

SUITE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "suite")


def pytest_addoption(parser):
    group = parser.getgroup("conv_oracle")
    group.addoption("--target", action="append", default=None, metavar="NAME",
                    help="target to check (repeatable): torch, torch-no-mkldnn, torch-cuda, torch-cuda-no-tf32, "
                         f"torch-compile[@freezing|max-autotune|dynamic], onnxruntime, jax, or an importable module path. Env: {NAMES['targets']} "
                         "(comma separated)")
    group.addoption("--known-deviations", action="append", default=None, metavar="FILE",
                    help="a TOML file of known deviations (repeatable) added to the suite's own "
                         "conv_oracle/suite/known_deviations.toml; format: conv_oracle/harness/deviations.py")
    group.addoption("--strict-deviations", action="store_true", default=False,
                    help="fail the run (exit status 1) when a known deviation whose scope ran was never "
                         "reproduced: for CI of a torch that should have fixed it")
    group.addoption("--records", default=_records_default(), metavar="DIR",
                    help=f"write per-example records (JSONL) into DIR. Env: {NAMES['records']}")
    group.addoption("--db", default=None, metavar="LOCATION",
                    help="the Hypothesis example database, shared across targets and machines: a folder or a "
                         f"redis://host:port/N URL. Env: {NAMES['db']}")
    group.addoption("--db-read-only", action="store_true", default=None,
                    help=f"replay the example database without writing to it. Env: {NAMES['db_read_only']}")
    group.addoption("--fuzz-progress", default=None, metavar="DIR",
                    help="count this process's examples per verdict into DIR (conv-oracle fuzz sets it)")
    group.addoption("--fuzz-state", default=None, metavar="DIR",
                    help="keep HypoFuzz's own bookkeeping (corpus, observations) in the folder DIR, out of --db "
                         "(conv-oracle fuzz sets it)")
    group.addoption("--replay", default=None, metavar="FILE",
                    help="check the examples in FILE (records, one per line, each with 'replay_on': target names) "
                         "on those targets: conv_oracle/suite/test_replay.py, collected only with this option")


def _records_default() -> str | None:
    try:
        return settings().records
    except SettingsError:  # a usage error already, from pytest_load_initial_conftests
        return None


def target_names(config) -> list[str]:
    names = config.getoption("--target") or settings().targets
    return list(dict.fromkeys(names))


# ---- per-session state, on config.stash ------------------------------------------------------

#: whether this session runs the suite (:func:`active`)
ACTIVE = pytest.StashKey[bool]()
#: the records writer (:func:`_recorder`)
RECORDER = pytest.StashKey["object"]()
#: the known deviations in force (:func:`_deviations`)
DEVIATIONS = pytest.StashKey["object"]()
#: per deviation id, the in-scope / matched counts already attached to a report
DEVIATION_SENT = pytest.StashKey["tuple[dict[str, int], dict[str, int]]"]()
#: per deviation id, [in scope, matched] summed from the "call" reports (on the xdist controller: all workers')
DEVIATION_TOTALS = pytest.StashKey["dict[str, list[int]]"]()
#: the example database and whether derandomized properties run seeded per property (:func:`_prepare_examples`)
EXAMPLES = pytest.StashKey["tuple[object, bool]"]()
#: targets loaded for parametrization, by name
TARGETS = pytest.StashKey["dict[str, object]"]()
#: the ``record`` function (:func:`record_function`)
RECORD = pytest.StashKey["object"]()
#: this process's fuzz progress counter (``--fuzz-progress``)
PROGRESS = pytest.StashKey["object"]()


def active(config) -> bool:
    """Whether this session runs the suite: ``--target`` or ``--records`` given, or an argument names
    the suite (or a folder holding it). Otherwise the plugin stays silent: no header, no imports of torch or
    Hypothesis, no thread counts, no warning filters."""
    cached = config.stash.get(ACTIVE, None)
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
    config.stash[ACTIVE] = result
    return result


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    """A malformed setting (:mod:`conv_oracle.machine.settings`) is a one-line usage error before any
    conftest (which may load a profile) or test module (which may build a strategy) reads it."""
    try:
        settings()
    except SettingsError as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.hookimpl(tryfirst=True)  # before Hypothesis' plugin loads --hypothesis-profile
def pytest_configure(config):
    config.addinivalue_line("markers", "differential: a target-vs-oracle property of the conv_oracle suite")
    config.pluginmanager.register(DeviationTallies(config), "conv_oracle_deviation_tallies")
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
    from ..definition.errors import ConvConfigError
    from ..targets import load_target
    from ..targets.execution import unavailable
    for name in target_names(config):
        try:
            t = load_target(name)
        except ConvConfigError as exc:
            raise pytest.UsageError(f"--target {name}: {exc.rule}") from None
        if unavailable(t):
            raise pytest.UsageError(f"--target {name}: {unavailable(t)} (environment)")


def _remove_stale_parts(folder: str) -> None:
    import glob
    for part in glob.glob(os.path.join(folder, "records.*.jsonl")):
        os.unlink(part)


def _recorder(config):
    rec = config.stash.get(RECORDER, None)
    if rec is None:
        from .records import Recorder
        rec = config.stash[RECORDER] = Recorder(config.getoption("--records"), _worker_id(config),
                                                retain=not _fuzzing())
    return rec


def _fuzzing() -> bool:
    """Whether this process is a HypoFuzz worker (or about to become one)."""
    detection = sys.modules.get("hypofuzz.detection")
    return bool(detection and detection.in_hypofuzz_run())


def derandomized(config) -> bool:
    """Whether the properties draw the same examples every run (a derandomized profile, seeded per property)."""
    from hypothesis import settings
    return settings.default.derandomize or config.stash.get(EXAMPLES, (None, False))[1]


def seed_text(config) -> str:
    """The seed as the header and the report show it."""
    seed = config.getoption("hypothesis_seed", None)
    if seed is not None:
        return str(seed)
    if config.stash.get(EXAMPLES, (None, False))[1]:
        return "derandomized (seeded per test as Hypothesis would, with the example database)"
    return "derandomized" if derandomized(config) else "random (Hypothesis prints it with a failure)"


def pytest_report_header(config):
    if not active(config):
        return None
    from ..machine import fingerprint
    from ..targets import load_target
    from hypothesis import settings
    lines = [f"conv_oracle targets: {', '.join(target_names(config))}",
             f"environment: {fingerprint.summary_line(fingerprint.fingerprint())}"]
    for name in target_names(config):
        t = load_target(name)
        lines.append(f"  target {name}: {t.description} [device={t.device}, tf32={t.tf32}; {t.capability.summary()}]")
    from ..checks import isolation
    lines.append(f"isolation: {'on (each target in a supervised worker)' if isolation.enabled() else 'off'}")
    prof = settings.default
    lines.append(f"hypothesis profile: {settings.get_current_profile_name()} (max_examples={prof.max_examples}, "
                 f"derandomize={derandomized(config)}, deadline={prof.deadline}); seed: {seed_text(config)}")
    from .examples import describe
    lines.append(f"example database: {describe(config.stash.get(EXAMPLES, (None, False))[0])}")
    records = config.getoption("--records")
    if records:
        lines.append(f"records: {records}")
    return lines


def pytest_sessionstart(session):
    """Known-deviation tallies start empty; a ``--hypothesis-seed`` applies to a derandomized profile
    too (as a seeded copy of it); the example database opens (:func:`_prepare_examples`)."""
    config = session.config
    config.stash[DEVIATION_TOTALS] = {}  # one session's tallies
    if "hypothesis" not in sys.modules:
        return
    from hypothesis import settings
    if config.getoption("hypothesis_seed", None) is not None and settings.default.derandomize:
        name = f"{settings.get_current_profile_name()}-seeded"
        settings.register_profile(name, settings.default, derandomize=False)
        settings.load_profile(name)
    if active(config):
        _prepare_examples(config)
    if config.getoption("--fuzz-progress"):
        from .fuzzing import Progress
        config.stash[PROGRESS] = Progress(config.getoption("--fuzz-progress"))


def _prepare_examples(config) -> None:
    """Open the example database (``--db`` or the ``db`` setting) and make it the current profile's; a
    derandomized profile becomes a non-derandomized copy seeded per test as ``derandomize=True`` would
    (Hypothesis turns the database off under ``derandomize=True``; :mod:`conv_oracle.harness.examples`)."""
    from hypothesis import settings as hypothesis_settings
    from .examples import DatabaseError, open_database
    location = config.getoption("--db") or settings().db
    read_only = config.getoption("--db-read-only")
    read_only = settings().db_read_only if read_only is None else read_only
    try:
        db = open_database(location, read_only, config.getoption("--fuzz-state")) if location else None
    except DatabaseError as exc:
        raise pytest.UsageError(str(exc)) from None
    per_property = hypothesis_settings.default.derandomize
    if db is not None or per_property:
        name = hypothesis_settings.get_current_profile_name()
        hypothesis_settings.register_profile(name, hypothesis_settings.default, derandomize=False, database=db)
        hypothesis_settings.load_profile(name)
    config.stash[EXAMPLES] = (db, per_property)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    """Before Hypothesis runs a property (its own plugin has set the test's key by now): link the key to
    the property's shared key, and seed a derandomized property as ``derandomize=True`` would."""
    state = item.config.stash.get(EXAMPLES, None)
    if state is None or not _is_property(item):
        return
    from .examples import derandomized_seed, hypothesis_key, shared_key
    db, per_property = state
    key = hypothesis_key(item)
    if db is not None:
        db.link(key, shared_key(item))
    if per_property and item.config.getoption("hypothesis_seed", None) is None:
        item.obj._hypothesis_internal_use_seed = derandomized_seed(key)


def _is_property(item) -> bool:
    from hypothesis import is_hypothesis_test
    return isinstance(item, pytest.Function) and is_hypothesis_test(item.obj)


def pytest_collection_finish(session):
    """Under HypoFuzz, which keys every test by its node id: link those keys as well."""
    db = session.config.stash.get(EXAMPLES, (None, False))[0]
    if db is None or not _fuzzing():
        return
    from .examples import hypothesis_key, shared_key
    for item in session.items:
        if _is_property(item):
            db.link(hypothesis_key(item, by_nodeid=True), shared_key(item))


def pytest_fixture_post_finalizer(fixturedef, request):
    """Under HypoFuzz, which tears a test's fixtures down when it moves to another test and sets them up again
    when it comes back: make the items forget the torn-down value (pytest keeps it cached per item and would
    answer "The fixture value for ... is not available"), so it is computed anew."""
    if not _fuzzing():
        return
    for item in getattr(request.session, "items", ()):
        cached = getattr(getattr(item, "_request", None), "_fixture_defs", None)
        if cached is not None and cached.get(fixturedef.argname) is fixturedef:
            del cached[fixturedef.argname]
            item.funcargs.pop(fixturedef.argname, None)


def pytest_generate_tests(metafunc):
    """Tests taking ``target`` run once per target: ``target`` (and ``record``) are parametrized directly,
    scoped to the session, with the target's name as the id; ``known_example`` and ``replayed`` take the
    known deviations' examples and the ``--replay`` file's records."""
    config = metafunc.config
    if "target" in metafunc.fixturenames:
        _parametrize_targets(metafunc, config)
    if "known_example" in metafunc.fixturenames:  # every entry in force that keeps its example
        chosen = [x for e in _deviations(metafunc.config).entries for x in e.examples]
        metafunc.parametrize("known_example", chosen, ids=[x.entry for x in chosen])
    if "replayed" in metafunc.fixturenames:
        with open(metafunc.config.getoption("--replay"), encoding="utf-8") as fh:
            recs = [json.loads(line) for line in fh if line.strip()]
        metafunc.parametrize("replayed", recs, ids=[f"example{i}" for i in range(len(recs))])


def _parametrize_targets(metafunc, config) -> None:
    argnames = ["target"] + (["record"] if "record" in metafunc.fixturenames else [])
    values = []
    for name in target_names(config):
        t, skip = _target_param(config, name)
        row = [t] + ([record_function(config)] if "record" in argnames else [])
        values.append(pytest.param(*row, id=name, marks=[pytest.mark.skip(reason=skip)] if skip else []))
    metafunc.parametrize(argnames, values, scope="session")


def pytest_ignore_collect(collection_path, config):
    """The replay test is collected only with ``--replay FILE`` (conv-oracle run gives it)."""
    if collection_path.name == "test_replay.py" and str(collection_path.parent) == SUITE_DIR:
        return None if config.getoption("--replay") else True
    return None


def _target_param(config, name: str):
    """The :class:`~conv_oracle.targets.Target` called ``name`` and why it is skipped here (or None)."""
    loaded = config.stash.setdefault(TARGETS, {})
    if name not in loaded:
        from ..definition.errors import ConvConfigError
        from ..targets import load_target
        from ..targets.execution import unavailable
        try:
            t = load_target(name)
            from ..checks import isolation
            if not isolation.enabled():  # in isolation, the target's worker starts with its env
                t.require_environment()
        except ConvConfigError as exc:
            raise pytest.UsageError(f"--target {name}: {exc}") from None
        loaded[name] = (t, f"{t.name}: {unavailable(t)}" if unavailable(t) else None)
    return loaded[name]


@pytest.fixture(scope="session")
def record(request):
    """``with record(prop, target, case, **fields) as rec:`` wraps one example and records it
    (streamed to ``--records`` as it ends). Tests that also take ``target`` get it as a parameter
    (:func:`pytest_generate_tests`); others through this fixture."""
    return record_function(request.config)


def record_function(config):
    """The session's ``record`` (one per session: Hypothesis re-runs a test body many times); the current
    test's id comes from ``PYTEST_CURRENT_TEST``."""
    cached = config.stash.get(RECORD, None)
    if cached is not None:
        return cached
    recorder = _recorder(config)

    @contextlib.contextmanager
    def example(prop, target, case, **fields):
        nodeid = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
        devs = _deviations(config)

        def classify(rec, failed):
            from .records import Verdict
            ex = _example_scope(prop, target, case, fields, rec)
            if failed:
                scope = devs.scope(ex)
                hit = devs.match(ex, rec.get("failure"), scope)
                if hit is None:
                    hit = devs.match_left_by_earlier_call(ex, rec.get("failure"))
                if hit is None:  # a failure inside an entry's scope but of another kind stays a failure
                    return {"deviations_in_scope": [e.id for e in scope]} if scope else {}
                _event(f"known deviation: {hit.id}")
                return {"verdict": Verdict.DEVIATION, "deviation": hit.id}  # expected: the property checks on
            scope = devs.scope(ex)
            return {"deviations_in_scope": [e.id for e in scope]} if scope else {}

        rec = {}
        try:
            with recorder.example(prop, nodeid, target.name, case, classify=classify, **fields) as rec:
                yield rec
        finally:
            _path_event(rec, fields.get("dtype"))
            progress = config.stash.get(PROGRESS, None)
            if progress is not None:
                progress.add(rec)

    config.stash[RECORD] = example
    return example


def _event(text: str) -> None:
    """``hypothesis.event`` inside a Hypothesis test; nothing in a plain one (the replayed examples)."""
    from hypothesis import event
    from hypothesis.control import currently_in_test_context
    if currently_in_test_context():  # outside a Hypothesis test events would raise; they are only statistics
        event(text)


def _path_event(rec: dict, dtype) -> None:
    """Tag the example for Hypothesis' statistics (``--hypothesis-show-statistics``): the kernel that
    ran it, and whether it was refused, looked suspicious or was rejected in wording no rule knows.
    Tagged here, in the test's process, because the property itself may have run in an isolated worker."""
    from .records import Verdict
    path = rec.get("path") or (rec.get("failure") or {}).get("path")
    if path and path.get("backend"):
        _event(f"backend: {path['backend']} {dtype or ''}".rstrip())
    if rec.get("verdict") == Verdict.NOT_CHECKABLE:
        _event("not checkable (refused)")
    if rec.get("suspicious_precision"):
        _event("suspicious precision (statistical signal, not a failure)")
    if rec.get("reason") == "unrecognised":
        _event("rejection's wording names no rule (reason not compared)")


# ---- known deviations ------------------------------------------------------------------------

def _deviations(config):
    """The entries in force (built-in list plus ``--known-deviations`` files), loaded once per process."""
    devs = config.stash.get(DEVIATIONS, None)
    if devs is None:
        from .deviations import DeviationFileError, Deviations
        try:
            devs = Deviations.from_files(config.getoption("--known-deviations") or [])
        except DeviationFileError as exc:
            raise pytest.UsageError(str(exc)) from None
        config.stash[DEVIATIONS] = devs
        config.stash[DEVIATION_SENT] = ({}, {})
    return devs


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    """Load the known deviations as soon as a differential test is collected: a malformed file is a
    usage error before anything runs."""
    if any("target" in getattr(item, "fixturenames", ()) for item in items):
        _deviations(config)


def _torch_version() -> str:
    try:
        import torch
        return torch.__version__
    except ImportError:
        return ""


def _example_scope(prop, target, case, fields, rec) -> dict:
    return {"property": prop, "target": target.name, "torch_kernels": getattr(target, "torch_kernels", True),
            "torch_version": _torch_version(), "op": case.op, "dtype": fields.get("dtype"), "rule": fields.get("rule"),
            "x_layout": rec.get("x_layout") or fields.get("x_layout"), "w_layout": rec.get("w_layout") or fields.get("w_layout"),
            "path": rec.get("path") or (rec.get("failure") or {}).get("path"), "case": case}


def _deviation_counts(item) -> None:
    """Attach this test's new in-scope / matched counts to its report (xdist carries them to the controller)."""
    devs = item.config.stash.get(DEVIATIONS, None)
    if devs is None:
        return
    sent_scope, sent_match = item.config.stash[DEVIATION_SENT]
    delta = {}
    for e in devs.entries:
        ds = devs.in_scope_counts[e.id] - sent_scope.get(e.id, 0)
        dm = devs.matched_counts[e.id] - sent_match.get(e.id, 0)
        if ds or dm:
            delta[e.id] = [ds, dm]
        sent_scope[e.id], sent_match[e.id] = devs.in_scope_counts[e.id], devs.matched_counts[e.id]
    if delta:
        item.user_properties.append(("conv_oracle_deviations", delta))


def _totals(config) -> dict[str, list[int]]:
    return config.stash.setdefault(DEVIATION_TOTALS, {})


class DeviationTallies:
    """Registered per session (as xdist registers its session objects): sums the deviation counts the
    "call" reports carry (on the xdist controller, every worker's) into ``config.stash``."""

    def __init__(self, config):
        self.config = config

    def pytest_runtest_logreport(self, report):
        if report.when != "call":  # the teardown report carries the item's user_properties again
            return
        for key, value in getattr(report, "user_properties", ()):
            if key == "conv_oracle_deviations":
                totals = _totals(self.config)
                for ident, (ds, dm) in value.items():
                    t = totals.setdefault(ident, [0, 0])
                    t[0] += ds
                    t[1] += dm


def not_reproduced(config) -> list[str]:
    """Entries whose scope ran in this session (this process, or the xdist controller) without one match."""
    return sorted(ident for ident, (scope, matched) in _totals(config).items() if scope and not matched)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Known deviations that matched, and those whose scope ran without reproducing them (like XPASS)."""
    devs = config.stash.get(DEVIATIONS, None)
    totals = _totals(config)
    if devs is None and not totals:
        return
    entries = {e.id: e for e in (devs.entries if devs else [])}
    lines = []
    for ident, (scope, matched) in sorted(totals.items()):
        if matched:
            lines.append(f"known deviation {ident}: {matched} of {scope} example(s) in its scope deviated as expected")
        elif scope:
            lines.append(f"known deviation {ident}: NOT REPRODUCED in {scope} example(s) in its scope (like an XPASS: "
                         f"fixed upstream, or its scope is wider than the fault); {entries[ident].source if ident in entries else ''}")
    if lines:
        terminalreporter.write_sep("-", "conv_oracle known deviations")
        for line in lines:
            terminalreporter.write_line(line)
    missing = not_reproduced(config)
    if missing:
        strict = config.getoption("--strict-deviations")
        terminalreporter.write_line(
            f"{'ERROR' if strict else 'WARNING'}: {len(missing)} known deviation(s) NOT REPRODUCED: {', '.join(missing)}"
            + (" (--strict-deviations: the run fails)" if strict else " (--strict-deviations would fail the run)"),
            red=strict, yellow=not strict)


# ---- records ---------------------------------------------------------------------------------

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test's report comes from its last failing example (Hypothesis' minimal one): flag it."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        _deviation_counts(item)
        report.user_properties = list(item.user_properties)
    if report.when == "call" and report.failed and item.config.getoption("--records"):
        rec = item.config.stash.get(RECORDER, None)
        if rec is not None:
            rec.mark_reported(item.nodeid)


def _worker_id(config) -> str:
    return getattr(config, "workerinput", {}).get("workerid", "main")


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    if (config.getoption("--strict-deviations") and not hasattr(config, "workerinput") and not_reproduced(config)
            and session.exitstatus == 0):
        session.exitstatus = 1
    rec = config.stash.get(RECORDER, None)
    if rec is not None:
        rec.close()
    progress = config.stash.get(PROGRESS, None)
    if progress is not None:
        progress.write()
    if "conv_oracle.checks.isolation" in sys.modules:
        sys.modules["conv_oracle.checks.isolation"].shutdown()
    folder = config.getoption("--records")
    if folder and active(config) and not hasattr(config, "workerinput"):
        from .records import merge  # the controller (or a plain run) merges every part
        merge(folder)
