"""Fixtures for the baseline tests: snapshots of the installed torch and of planted targets.

A snapshot takes seconds to tens of seconds, so each one a test needs is taken once per test run and
shared by every test (and every xdist worker) that needs it: stored as a baseline file under the
run's temporary folder, the first worker to ask takes it while the others wait for the file. The
installed torch's two snapshots come from the CLI (``conv-oracle snapshot``, then ``conv-oracle compare
... current --save``): the CLI's tests, the determinism test and the committed-baseline check read them."""

import contextlib
import fcntl
import io
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:  # the planted target modules are loaded by name, like users' own targets
    sys.path.insert(0, HERE)


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory):
    """A folder of this test run shared by its xdist workers (each has its own base temp below it)."""
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "shared-snapshots"
    folder.mkdir(exist_ok=True)
    return folder


@contextlib.contextmanager
def _locked(path):
    with open(f"{path}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _once(path: Path, make) -> str:
    """The text at ``path``, written by the first worker to ask (``make()``, atomically) while the others wait."""
    with _locked(path):
        if not path.exists():
            path.with_suffix(".tmp").write_text(make())
            path.with_suffix(".tmp").replace(path)
    return path.read_text()


@pytest.fixture(scope="session")
def shared_snapshot(shared_dir):
    """``shared_snapshot(key, make)``: the baseline ``make()`` returns, taken once per test run under
    ``key`` (the first worker to ask takes it; the others read its file) and read back from that file
    by every caller, so all of them see the same data."""
    from conv_oracle.baseline import schema
    cache = {}

    def get(key, make):
        if key not in cache:
            path = shared_dir / f"{key}.json"
            _once(path, lambda: schema.dumps(make()))
            cache[key] = schema.load(str(path))
        return cache[key]

    return get


@pytest.fixture(scope="session")
def corpus_entries():
    from conv_oracle.baseline import corpus
    return corpus.build()


@pytest.fixture(scope="session")
def two_d_entries(corpus_entries):
    """The 2-D part of the corpus (valid and invalid): what the planted 2-D targets can run."""
    return [e for e in corpus_entries if e.case.nd == 2]


@dataclass(frozen=True)
class CliCall:
    """One ``conv-oracle`` command run in-process: its exit status, what it printed, and the file it wrote."""

    argv: tuple
    status: int
    out: str
    err: str
    path: Path


def _shared_cli(shared_dir: Path, key: str, argv) -> CliCall:
    """``conv-oracle ARGV FILE`` (FILE in a folder of its own, under the run's shared folder), run once per
    test run by the first worker to ask; its exit status and output are kept beside the file for the others."""
    from conv_oracle.cli import main
    folder = shared_dir / key
    path = folder / f"{key}.json"

    def run() -> str:
        folder.mkdir()
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main([*argv, str(path)])
        return json.dumps({"status": status, "out": out.getvalue(), "err": err.getvalue()})

    call = json.loads(_once(shared_dir / f"{key}.call.json", run))
    return CliCall(tuple(argv), call["status"], call["out"], call["err"], path)


@pytest.fixture(scope="session")
def cli_snapshot(shared_dir) -> CliCall:
    """``conv-oracle snapshot --target torch --out FILE``: the installed torch over the whole corpus, taken
    once per run through the CLI; the baseline every test of the installed torch reads."""
    return _shared_cli(shared_dir, "torch", ["snapshot", "--target", "torch", "--out"])


@pytest.fixture(scope="session")
def cli_compare_current(shared_dir, cli_snapshot) -> CliCall:
    """``conv-oracle compare FILE current --save AGAIN``: a second snapshot of the same torch, taken by the
    command that compares it with the first (the target named by FILE)."""
    return _shared_cli(shared_dir, "torch-again", ["compare", str(cli_snapshot.path), "current", "--save"])


@pytest.fixture(scope="session")
def torch_snapshot(cli_snapshot):
    """A snapshot of the installed torch (target ``torch``) over the whole corpus (taken once per run)."""
    from conv_oracle.baseline import schema
    assert cli_snapshot.status == 0, cli_snapshot.err
    return schema.load(str(cli_snapshot.path))


@pytest.fixture(scope="session")
def torch_snapshot_again(cli_compare_current):
    """The second snapshot of the installed torch, as ``compare ... current --save`` stored it."""
    from conv_oracle.baseline import schema
    return schema.load(str(cli_compare_current.path))


@pytest.fixture(scope="session")
def planted(two_d_entries, shared_snapshot):
    """``planted(name)``: snapshot of the module target ``name`` over the 2-D corpus (taken once per run)."""
    from conv_oracle.baseline.snapshot import snapshot
    from conv_oracle.targets import load_target
    return lambda name: shared_snapshot(name, lambda: snapshot(load_target(name), two_d_entries))
