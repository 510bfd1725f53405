"""pytest configuration: Hypothesis profiles and the conv_oracle plugin (targets, records, deviations)."""

import os

pytest_plugins = ["conv_oracle.pytest_plugin"]

from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=60, derandomize=True, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=15, deadline=None)
settings.register_profile("thorough", max_examples=600, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("CONV_ORACLE_PROFILE", "ci"))
