"""The suite's pytest configuration. Its options, fixtures, hooks and Hypothesis profiles come from the
plugin ``conv_oracle.harness.pytest_plugin``, which pytest loads through the package's ``pytest11`` entry point
(so ``pytest --pyargs conv_oracle.suite --hypothesis-profile thorough`` works from anywhere)."""
