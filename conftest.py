"""Project-wide pytest configuration: the Hypothesis profiles (ci by default, see conv_oracle/profiles.py).

The differential suite's own options (--target, --records, --known-deviations) come from its
conftest, conv_oracle/suite/conftest.py, which loads conv_oracle.pytest_plugin."""

from conv_oracle.profiles import register_profiles

register_profiles()
