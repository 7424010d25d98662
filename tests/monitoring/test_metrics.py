"""monitoring/metrics.py: /metrics for a token or an allowed address, 403 for anybody else."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.fixtures.backfill import ROOT

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(settings) -> str:
    settings.METRICS_TOKEN = "s3cret-token"
    settings.METRICS_ALLOWED_IPS = []
    return settings.METRICS_TOKEN


def test_a_bearer_token_is_let_in_with_prometheus_text(client, token):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    body = response.content.decode()
    assert "# TYPE backfill_breaker_opens_total counter" in body
    assert "# TYPE backfill_jobs gauge" in body
    # django-prometheus's HTTP side, of the serving process.
    assert "django_http_requests_before_middlewares_total" in body


@pytest.mark.parametrize(
    "header", [None, "Bearer wrong", "Basic s3cret-token", "Bearer ", "s3cret-token"]
)
def test_anything_else_is_refused(client, token, header):
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = client.get("/metrics", **extra)
    assert response.status_code == 403
    assert b"METRICS_TOKEN" in response.content


def test_an_allowed_address_or_network_needs_no_token(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8", "192.0.2.7"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.8").status_code == 403


def test_nothing_configured_lets_nobody_in(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = []
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403
    assert client.get("/metrics").status_code == 403


def test_only_get(client, token):
    response = client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 405


def test_a_malformed_allow_list_entry_stops_the_process_naming_it():
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "backfill_project.settings",
            "METRICS_ALLOWED_IPS": "127.0.0.1,10.0.0.0/33",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "METRICS_ALLOWED_IPS: '10.0.0.0/33' is not an address or network" in result.stderr
