"""pytest plugin for bench_search.py: the ci profile without shrinking, derandomized ("bench-ci",
what the default run draws) and seeded ("bench-seeded": set the seed with --hypothesis-seed)."""

from hypothesis import Phase, settings

from conv_oracle.harness.profiles import register_profiles

register_profiles()
settings.register_profile("bench-ci", settings.get_profile("ci"), database=None,
                          phases=[Phase.explicit, Phase.generate, Phase.target])
settings.register_profile("bench-seeded", settings.get_profile("bench-ci"), derandomize=False)
