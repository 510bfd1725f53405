"""The suite's pytest configuration: targets, report header, known deviations, records, profiles."""

from conv_oracle.profiles import register_profiles
from conv_oracle.pytest_plugin import *  # noqa: F401,F403  (hooks and fixtures)

register_profiles()
