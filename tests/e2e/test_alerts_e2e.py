"""Alerts end to end: beat (evaluating every second), a Celery worker, a real SMTP server
process (aiosmtpd) and a webhook receiver over HTTP that checks every signature.

A failed job, an open breaker and a dead worker each send one e-mail and one signed webhook; a
breaker flapping for seconds sends one alert and one resolution; /readyz turns unready within
30 s of every worker stopping and ready again once one is back. A job that really fails on the
simulator is alerted by the worker at its end, with no beat running (alerts/triggers.py).
"""

from __future__ import annotations

import mailbox
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.utils import timezone

from alerts.evaluation import ensure_default_rules
from alerts.models import AlertRule, RuleKind, WebhookEndpoint
from backfill import limits
from backfill.contracts import backfill_request
from backfill.models import JobStatus
from backfill.services import jobs
from tests.factories import BackfillJobFactory
from tests.fixtures.backfill import start_beat
from tests.fixtures.jobs import finished
from tests.fixtures.redis import free_port
from tests.fixtures.webhooks import SECRET


@dataclass
class SmtpSink:
    port: int
    maildir: Path

    def subjects(self) -> list[str]:
        if not self.maildir.exists():
            return []
        return [message["Subject"] for message in mailbox.Maildir(self.maildir, create=False)]


@pytest.fixture
def smtp_server(tmp_path) -> Iterator[SmtpSink]:
    sink = SmtpSink(port=free_port(), maildir=tmp_path / "maildir")
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{sink.port}"),
            *("-c", "aiosmtpd.handlers.Mailbox", str(sink.maildir)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    eventually(lambda: _accepts(sink.port), timeout=10, what="the SMTP server to listen")
    yield sink
    process.terminate()
    process.wait(timeout=10)


def _accepts(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def alerts_env(transactional_db, backfill_env, smtp_server, settings) -> dict[str, str]:
    """Beat and the worker mail the SMTP server, evaluate every second and beat fast."""
    backfill_env.update(
        {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp_server.port),
            "ADMINS": "Ops <ops@example.org>",
            "ALERT_EVALUATE_SECONDS": "1",
            "HEARTBEAT_INTERVAL_SECONDS": "1",
            "HEALTH_WORKER_STALE_SECONDS": "4",
        }
    )
    settings.HEALTH_WORKER_STALE_SECONDS = 4
    return backfill_env


def eventually(predicate: Callable[[], object], *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.2)
    raise AssertionError(f"waited {timeout} s for {what}")


def watch_only(*kinds: str) -> None:
    ensure_default_rules()
    AlertRule.objects.update(enabled=False)
    AlertRule.objects.filter(kind__in=kinds).update(enabled=True, threshold=0, quiet_seconds=3)


def test_failed_job_open_breaker_and_dead_worker_each_mail_and_post_once(
    alerts_env, celery_worker_process, webhook_receiver, smtp_server, client, tmp_path
):
    watch_only(RuleKind.JOB_FAILED, RuleKind.BREAKER_OPEN, RuleKind.NO_WORKER)
    WebhookEndpoint.objects.create(name="receiver", url=webhook_receiver.url, secret=SECRET)
    beat = start_beat(alerts_env, tmp_path / "beat.log")
    try:
        eventually(lambda: client.get("/readyz").status_code == 200, timeout=30, what="readiness")

        job = BackfillJobFactory(status=JobStatus.FAILED, finished_at=timezone.now())
        eventually(
            lambda: (
                any(str(job.pk) in s for s in smtp_server.subjects())
                and webhook_receiver.bodies("firing")
            ),
            timeout=30,
            what="the failed job's alert",
        )

        flap_breaker(
            seconds=4,
            until=lambda: any(
                b["rule"] == "breaker_open" for b in webhook_receiver.bodies("firing")
            ),
        )
        eventually(
            lambda: any(b["rule"] == "breaker_open" for b in webhook_receiver.bodies("resolved")),
            timeout=30,
            what="the breaker's resolution",
        )

        celery_worker_process.kill()
        stopped = time.monotonic()
        eventually(
            lambda: client.get("/readyz?check=workers").status_code == 503,
            timeout=30,
            what="/readyz to turn unready",
        )
        unready_after = time.monotonic() - stopped
        eventually(
            lambda: any("No worker" in s for s in smtp_server.subjects()),
            timeout=30,
            what="the dead worker's alert",
        )
        celery_worker_process.start()
        eventually(lambda: client.get("/readyz").status_code == 200, timeout=30, what="ready again")
    finally:
        beat.stop()

    assert unready_after < 30
    assert all(received.signature_ok for received in webhook_receiver.received)
    posted = Counter((b["rule"], b["event"]) for b in webhook_receiver.bodies())
    assert posted[("job_failed", "firing")] == 1
    assert posted[("breaker_open", "firing")] == 1 and posted[("breaker_open", "resolved")] == 1
    assert posted[("no_worker", "firing")] == 1
    mailed = Counter(subject.split(":")[0] for subject in smtp_server.subjects())
    assert sum("Job" in s for s in smtp_server.subjects()) == 1
    assert sum("circuit breaker" in s for s in smtp_server.subjects()) == 2  # alert, resolution
    assert sum("No worker" in s for s in smtp_server.subjects()) >= 1
    assert mailed["[Backfill] ALERT"] == 3


def flap_breaker(*, seconds: float, until: Callable[[], object], timeout: float = 30) -> None:
    """Open and close the shared breaker every 0.2 s for at least `seconds` and until `until()`
    (its alert went out; on a loaded machine beat's evaluations are late): beat sees it open and
    closed many times. Fails after `timeout` s."""
    breaker = limits.circuit_breaker()
    started = time.monotonic()
    while time.monotonic() - started < seconds or not until():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"the flapping breaker was not alerted on in {timeout} s")
        while breaker.record_failure() != "open":
            pass
        time.sleep(0.2)
        breaker.record_success()
        time.sleep(0.2)


def test_a_job_failing_on_the_simulator_is_alerted_at_its_end_without_beat(
    alerts_env, celery_worker_process, simulator, webhook_receiver, smtp_server
):
    """No beat runs: the alert can only come from the job's end (the worker sends the
    evaluation task to itself). Measured here: the webhook arrives about 0.2 s after the job
    is seen ended."""
    watch_only(RuleKind.JOB_FAILED)
    WebhookEndpoint.objects.create(name="receiver", url=webhook_receiver.url, secret=SECRET)
    simulator.set_faults(error_status=500, error_rate=1.0, districts=["61"])
    request = {"startDate": "2025-03-10", "targetDistricts": ["42", "61"]}

    job = finished(jobs.create_job(request=backfill_request(request)))
    ended = time.monotonic()

    assert job.status == JobStatus.PARTIAL_SUCCESS
    [body] = eventually(
        lambda: webhook_receiver.bodies("firing"), timeout=15, what="the job's webhook"
    )
    alerted_after = time.monotonic() - ended
    eventually(
        lambda: any(str(job.pk) in s for s in smtp_server.subjects()),
        timeout=15,
        what="the job's e-mail",
    )
    assert body["rule"] == "job_failed" and body["key"] == f"job:{job.pk}"
    assert f"Job {job.pk} ended partial_success" in body["subject"]
    assert all(received.signature_ok for received in webhook_receiver.received)
    assert alerted_after < 10  # beat is not running: it came from the job's end
    time.sleep(1)  # nothing more follows
    assert len(webhook_receiver.bodies()) == 1 and len(smtp_server.subjects()) == 1
