"""Hypothesis profiles shared by the suite and the project's own tests, registered once (by the
pytest plugin, or :func:`load_default` in the project's conftest).

``ci``: derandomized, no deadline, bounded (the default); ``dev``: fast; ``thorough``: ten times ci;
``meta``: ci without shrinking, for the meta-tests that only need to see a planted fault fail;
``compile``: ci with :data:`COMPILE_EXAMPLES` examples per test, for targets that compile each configuration
(``torch-compile@...``, ``jax``: about a second each); ``replay``: only the examples the example database
holds (earlier failures, here or on other targets and machines), shrunk again, nothing new drawn. Only ci,
meta and compile are derandomized: dev and thorough draw anew each run (``--hypothesis-seed N`` fixes them;
with a derandomized profile the plugin applies the seed to a seeded copy of it). Under the plugin a
derandomized profile runs seeded per property, with the example database (:mod:`conv_oracle.harness.examples`).
Choose with ``--hypothesis-profile NAME`` or the ``profile`` setting (:mod:`conv_oracle.machine.settings`).
"""

from ..machine.settings import settings as _settings

CI_EXAMPLES = 60
#: examples per test of the ``compile`` profile (pinned ``@example``s and covering rows come on top)
COMPILE_EXAMPLES = 3
_registered = False


def register_profiles() -> None:
    """Register the profiles (once per process; each from Hypothesis' defaults, not the current one)."""
    global _registered
    if _registered:
        return
    from hypothesis import HealthCheck, Phase, settings
    base = settings.get_profile("default")
    quiet = [HealthCheck.too_slow, HealthCheck.differing_executors]
    settings.register_profile("ci", base, max_examples=CI_EXAMPLES, derandomize=True, deadline=None,
                              print_blob=True, suppress_health_check=quiet)
    settings.register_profile("dev", base, max_examples=15, derandomize=False, deadline=None,
                              suppress_health_check=quiet)
    settings.register_profile("thorough", base, max_examples=10 * CI_EXAMPLES, derandomize=False, deadline=None,
                              print_blob=True, suppress_health_check=quiet)
    settings.register_profile("meta", settings.get_profile("ci"),
                              phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target])
    settings.register_profile("compile", settings.get_profile("ci"), max_examples=COMPILE_EXAMPLES)
    settings.register_profile("replay", settings.get_profile("ci"), derandomize=False, phases=[Phase.reuse, Phase.shrink])
    _registered = True


def load_default() -> None:
    """Register the profiles and load the ``profile`` setting (default ci)."""
    from hypothesis import settings
    register_profiles()
    settings.load_profile(_settings().profile)
