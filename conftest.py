"""pytest configuration: Hypothesis profiles and suite options (targets are added by the suite plugin)."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=60, derandomize=True, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=15, deadline=None)
settings.register_profile("thorough", max_examples=600, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("CONV_ORACLE_PROFILE", "ci"))
