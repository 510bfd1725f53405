"""Project-wide pytest configuration: the Hypothesis profiles for the project's own tests (ci by
default, see conv_oracle/harness/profiles.py); ``--hypothesis-profile`` still chooses another.

The differential suite's options, fixtures and profiles come from the plugin
conv_oracle.harness.pytest_plugin."""

import os

import pytest

from conv_oracle.harness.profiles import load_default
from conv_oracle.machine import settings

# Before any process of the test run loads torch (this file loads first; xdist workers, isolation fork
# servers and the end-to-end runs inherit it): OpenMP threads that finish a parallel region sleep instead
# of spinning for it to come back. The test run keeps two or more processes busy on every core, so a
# spinning thread takes a core from another process (about 6% of the run's CPU time on 2 cores). It
# changes no kernel and no result.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

load_default()


@pytest.fixture(autouse=True)
def _fresh_settings():
    """A test that sets a CONV_ORACLE_* variable calls ``settings.reload()``; after it (and after
    monkeypatch has restored the environment) the settings are read again, so none leak."""
    yield
    settings.reload()


OUT_OF_DEFAULT_RUN = ("heavy", "fuzz", "compile")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``heavy``, ``fuzz`` or ``compile`` (minutes each) stay out of the default run (the README's test
    command); ``-m heavy``, ``-m fuzz`` and ``-m compile`` run them (.ci/run does, as steps of their own), and any
    ``-m`` expression chooses for itself."""
    if config.getoption("markexpr"):
        return
    left_out = [item for item in items if any(item.get_closest_marker(m) for m in OUT_OF_DEFAULT_RUN)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in left_out]
