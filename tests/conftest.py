"""Shared fixtures live in tests/fixtures/*; each module there is a pytest plugin."""

import uuid

import pytest

pytest_plugins = [
    "tests.fixtures.simulator",
    "tests.fixtures.backfill",
    "tests.fixtures.browser",
    "tests.fixtures.api",
    "tests.fixtures.analytics",
    "tests.fixtures.s3",
    "tests.fixtures.webhooks",
    "tests.fixtures.alerts",
    "tests.fixtures.gcs",
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


@pytest.fixture(autouse=True)
def reserve_presence(request, monkeypatch):
    """The limiter's cached "is a priority job queued or running?" starts fresh in every
    test; tests without database access see one (the reserve held, as it always is when the
    database cannot answer)."""
    from backfill.limits import reserve

    reserve.clear_presence_cache()
    database_fixtures = {"db", "transactional_db", "django_db_reset_sequences", "live_server"}
    if not (
        request.node.get_closest_marker("django_db")
        or database_fixtures & set(request.fixturenames)
    ):
        monkeypatch.setattr(reserve, "_read_database", lambda: True)
    yield
    reserve.clear_presence_cache()


@pytest.fixture(autouse=True)
def fresh_limit_settings():
    """The limiter's settings cached in this process (`current_settings`, a few seconds) start
    fresh in every test: a configuration one test saved, then rolled back, is not the next
    test's."""
    from backfill.limits import config

    config.clear_settings_cache()
    yield
    config.clear_settings_cache()


@pytest.fixture(scope="session", autouse=True)
def limits_key_prefix(worker_id):
    """Redis keys of the limiter, breaker, cache and locks under a prefix of this test process
    (one per xdist worker, `make test` runs several): a breaker one test opens never refuses
    another process's requests. Tests that need a private prefix still set their own."""
    from django.conf import settings

    from backfill.limits.connection import get_redis

    prefix = f"backfill-test-{worker_id}-{uuid.uuid4().hex[:8]}"
    settings.BACKFILL_LIMITS_KEY_PREFIX = prefix
    yield prefix
    redis_client = get_redis()
    for key in redis_client.scan_iter(match=f"{prefix}:*", count=1000):
        redis_client.delete(key)
