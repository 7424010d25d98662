"""Shared fixtures live in tests/fixtures/*; each module there is a pytest plugin."""

pytest_plugins = [
    "tests.fixtures.simulator",
    "tests.fixtures.backfill",
    "tests.fixtures.api",
]
