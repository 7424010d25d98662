"""Shared fixtures live in tests/fixtures/*; each module there is a pytest plugin."""

import pytest

pytest_plugins = [
    "tests.fixtures.simulator",
    "tests.fixtures.backfill",
    "tests.fixtures.browser",
    "tests.fixtures.api",
    "tests.fixtures.analytics",
    "tests.fixtures.s3",
]


@pytest.fixture(autouse=True)
def closing_registry_rows(request, monkeypatch):
    """Closing dates from the database start fresh in every test; tests without database
    access see none (the registry would otherwise query a database they may not touch)."""
    from districts.dashboard import closing

    closing.clear_cache()
    database_fixtures = {"db", "transactional_db", "django_db_reset_sequences", "live_server"}
    if not (
        request.node.get_closest_marker("django_db")
        or database_fixtures & set(request.fixturenames)
    ):
        monkeypatch.setattr(closing, "_read_database", lambda: closing._DatabaseRows({}, {}))
    yield
    closing.clear_cache()
