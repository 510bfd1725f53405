"""Fixtures for the baseline tests: snapshots of the installed torch and of planted targets."""

import os
import sys

import pytest

# before torch loads: idle OpenMP threads sleep, so the snapshots' N-thread pass stays fast on a busy machine
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:  # the planted target modules are loaded by name, like users' own targets
    sys.path.insert(0, HERE)


@pytest.fixture(scope="session")
def corpus_entries():
    from conv_oracle.baseline import corpus
    return corpus.build()


@pytest.fixture(scope="session")
def two_d_entries(corpus_entries):
    """The 2-D part of the corpus (valid and invalid): what the planted 2-D targets can run."""
    return [e for e in corpus_entries if e.case.nd == 2]


@pytest.fixture(scope="session")
def torch_snapshot(corpus_entries):
    """A snapshot of the installed torch (target ``torch``) over the whole corpus."""
    from conv_oracle.baseline.snapshot import snapshot
    from conv_oracle.targets import load_target
    return snapshot(load_target("torch"), corpus_entries)


@pytest.fixture(scope="session")
def planted(two_d_entries):
    """``planted(name)``: snapshot of the module target ``name`` over the 2-D corpus (cached)."""
    from conv_oracle.baseline.snapshot import snapshot
    from conv_oracle.targets import load_target
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = snapshot(load_target(name), two_d_entries)
        return cache[name]

    return get
