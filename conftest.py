"""Project-wide pytest configuration: the Hypothesis profiles for the project's own tests (ci by
default, see conv_oracle/harness/profiles.py); ``--hypothesis-profile`` still chooses another.

The differential suite's options, fixtures and profiles come from the plugin
conv_oracle.harness.pytest_plugin."""

from conv_oracle.harness.profiles import load_default

load_default()
