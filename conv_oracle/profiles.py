"""Hypothesis profiles shared by the suite and the project's own tests.

``ci``: derandomized, no deadline, bounded (the default); ``dev``: fast; ``thorough``: ten times ci;
``meta``: ci without shrinking, for the meta-tests that only need to see a planted fault fail.
Choose with ``--hypothesis-profile NAME`` or ``CONV_ORACLE_PROFILE=NAME``.
"""

import os

from hypothesis import HealthCheck, Phase, settings

CI_EXAMPLES = 60


def register_profiles() -> None:
    quiet = [HealthCheck.too_slow, HealthCheck.differing_executors]
    settings.register_profile("ci", max_examples=CI_EXAMPLES, derandomize=True, deadline=None, print_blob=True,
                              suppress_health_check=quiet)
    settings.register_profile("dev", max_examples=15, deadline=None, suppress_health_check=quiet)
    settings.register_profile("thorough", max_examples=10 * CI_EXAMPLES, deadline=None, print_blob=True,
                              suppress_health_check=quiet)
    settings.register_profile("meta", settings.get_profile("ci"),
                              phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target])
    settings.load_profile(os.environ.get("CONV_ORACLE_PROFILE", "ci"))
