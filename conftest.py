"""Project-wide pytest configuration: the Hypothesis profiles for the project's own tests (ci by
default, see conv_oracle/harness/profiles.py); ``--hypothesis-profile`` still chooses another.

The differential suite's options, fixtures and profiles come from the plugin
conv_oracle.harness.pytest_plugin."""

import pytest

from conv_oracle.harness.profiles import load_default
from conv_oracle.machine import settings

load_default()


def pytest_collection_modifyitems(config, items):
    """Tests marked ``compile`` (torch.compile targets, minutes) run only when ``-m`` names the marker."""
    if "compile" in (config.getoption("markexpr") or ""):
        return
    kept = [item for item in items if item.get_closest_marker("compile") is None]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item.get_closest_marker("compile")])
        items[:] = kept


@pytest.fixture(autouse=True)
def _fresh_settings():
    """A test that sets a CONV_ORACLE_* variable calls ``settings.reload()``; after it (and after
    monkeypatch has restored the environment) the settings are read again, so none leak."""
    yield
    settings.reload()


def pytest_collection_modifyitems(config, items):
    """Tests marked ``heavy`` or ``fuzz`` stay out of the default run (the README's test command); ``-m heavy``
    and ``-m fuzz`` run them (.ci/run does, as steps of their own), and any ``-m`` expression chooses for itself."""
    if config.getoption("markexpr"):
        return
    left_out = [item for item in items if item.get_closest_marker("heavy") or item.get_closest_marker("fuzz")]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in left_out]
