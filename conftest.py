"""Registers the conformance plugin, so that plain `pytest --base-url ...` runs the suite."""

pytest_plugins = ["conformance.plugin"]
