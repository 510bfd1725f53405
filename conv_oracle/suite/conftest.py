"""The suite's pytest configuration. Its options, fixtures and hooks come from the plugin
``conv_oracle.pytest_plugin``, which pytest loads through the package's ``pytest11`` entry point."""

from conv_oracle.profiles import register_profiles

register_profiles()
