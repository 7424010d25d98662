"""/healthz and /readyz through the whole middleware stack, on the real database and Redis."""

import time

import pytest

from backfill_project import heartbeat
from tests.fixtures.redis import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def alive(private_prefix, snapshot_root):
    """A worker and beat that just wrote their heartbeats."""
    heartbeat.beat_worker("celery@test")
    heartbeat.beat_beat()


def test_healthz_answers_without_touching_anything(client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_reports_each_check_with_latency_and_reason(client, alive):
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ready"
    assert list(body["checks"]) == ["database", "redis", "store", "workers", "beat"]
    workers = body["checks"]["workers"]
    assert workers["ok"] and workers["latency_ms"] >= 0
    assert workers["reason"].startswith("1 worker(s) alive")
    assert response["Cache-Control"] == "no-store"


def test_readyz_is_503_with_the_reason_when_redis_is_unreachable(client, alive, settings):
    shared = settings.REDIS_URL
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    started = time.monotonic()
    response = client.get("/readyz")
    assert time.monotonic() - started < 5  # short timeouts: a dead Redis never hangs a probe
    checks = response.json()["checks"]
    assert response.status_code == 503
    assert checks["database"]["ok"] and not checks["redis"]["ok"]
    assert "ConnectionError" in checks["redis"]["reason"]
    assert not checks["workers"]["ok"] and not checks["beat"]["ok"]
    settings.REDIS_URL = shared
    assert client.get("/readyz").status_code == 200


def test_a_stopped_worker_makes_readyz_unready_and_says_since_when(client, alive):
    heartbeat.beat_worker("celery@test", stopped=True)
    response = client.get("/readyz?check=workers")
    assert response.status_code == 503
    assert response.json()["checks"]["workers"]["reason"].startswith("no worker has answered for")


def test_readyz_runs_only_the_named_checks_and_refuses_unknown_ones(client, alive):
    body = client.get("/readyz?check=database&check=redis").json()
    assert list(body["checks"]) == ["database", "redis"]
    response = client.get("/readyz?check=disk")
    assert response.status_code == 400 and "unknown check(s) disk" in response.json()["error"]


def test_probes_pass_behind_a_tls_proxy_with_any_host(client, alive, settings):
    """A container's healthcheck asks over plain HTTP for its own address."""
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["backfill.example.org"]
    assert client.get("/readyz", HTTP_HOST="172.18.0.5:8000").status_code == 200
    assert client.get("/healthz", HTTP_HOST="172.18.0.5:8000").status_code == 200
    assert client.get("/admin/", HTTP_HOST="172.18.0.5:8000").status_code == 400


def test_an_unwritable_store_or_a_silent_beat_fails_readiness(client, alive, settings):
    settings.HEALTH_STORE_MIN_FREE_RATIO = 1.0
    settings.HEALTH_BEAT_STALE_SECONDS = -1
    checks = client.get("/readyz").json()["checks"]
    assert "under HEALTH_STORE_MIN_FREE_RATIO" in checks["store"]["reason"]
    assert checks["beat"]["reason"].startswith("beat has not sent a task for")
