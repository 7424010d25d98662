"""backfill/services/execution.py: one unit executed in this process against the simulator,
with the lease claimed and renewed as a worker would."""

from __future__ import annotations

import logging
import os

import pytest

from backfill.contracts import backfill_request
from backfill.models import BackfillUnit, UnitStatus
from backfill.services import broker, dispatch, execution, jobs, recovery
from backfill_project import counters, log_context

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def messages(monkeypatch) -> list[tuple]:
    """Unit messages that would have gone to the broker: (unit id, token)."""
    sent: list[tuple] = []

    def record(task, *args, countdown=None):
        if task == broker.RUN_UNIT_TASK:
            sent.append(args)

    monkeypatch.setattr(broker, "send", record)
    monkeypatch.setattr(recovery, "alive_workers", set)
    return sent


def run_messages(messages: list[tuple]) -> int:
    """Deliver every message, as a worker would, until none is left; returns how many ran."""
    ran = 0
    while messages:
        unit_id, token = messages.pop(0)
        execution.run_unit(unit_id=unit_id, token=token, owner="celery@test", pid=os.getpid())
        ran += 1
    return ran


def test_requests_made_counts_every_http_attempt_of_every_unit_attempt(
    backfill_env, simulator, fast_limits, settings, messages
):
    # Issue 9 finding 7: under a 500 storm 9 requests went out and 2 were recorded.
    settings.DASHBOARD_MAX_ATTEMPTS = 3
    settings.BACKFILL_UNIT_MAX_ATTEMPTS = 3
    settings.BACKFILL_BREAKER_FAILURES = 1_000
    simulator.set_faults(error_rate=1.0, error_status=500)
    job = jobs.create_job(
        request=backfill_request(
            {"startDate": "2025-03-10", "targetDistricts": ["42"], "skipExisting": False}
        )
    )
    dispatch.start_queued_jobs()

    assert run_messages(messages) == 3  # three unit attempts

    unit = BackfillUnit.objects.get(job=job)
    assert (unit.status, unit.attempts) == (UnitStatus.FAILED, 3)
    sent = [r for r in simulator.requests() if "export.aspx" in r["path"]]
    assert len(sent) == 9  # 3 unit attempts x 3 HTTP attempts
    assert unit.requests_made == len(sent)


def test_a_late_message_of_an_earlier_dispatch_does_nothing(
    backfill_env, simulator, fast_limits, messages
):
    job = jobs.create_job(
        request=backfill_request(
            {"startDate": "2025-03-10", "targetDistricts": ["42"], "skipExisting": False}
        )
    )
    dispatch.start_queued_jobs()
    (old,) = messages
    BackfillUnit.objects.filter(job=job).update(lease_expires_at=None)
    recovery.reclaim_lost_units()  # lost: dispatched again under a new token
    assert len(messages) == 2

    assert execution.run_unit(unit_id=old[0], token=old[1], owner="celery@late", pid=1) is None
    assert simulator.requests() == []
    run_messages(messages[1:])
    unit = BackfillUnit.objects.get(job=job)
    assert (unit.status, unit.attempts) == (UnitStatus.SUCCEEDED, 1)


def test_a_unit_whose_runners_keep_dying_fails_instead_of_looping(
    backfill_env, simulator, fast_limits, settings, messages
):
    settings.BACKFILL_UNIT_MAX_ATTEMPTS = 3
    job = jobs.create_job(
        request=backfill_request(
            {"startDate": "2025-03-10", "targetDistricts": ["42"], "skipExisting": False}
        )
    )
    dispatch.start_queued_jobs()
    # Six earlier claims whose runners died (each claim counts an attempt).
    BackfillUnit.objects.filter(job=job).update(attempts=6)

    run_messages(messages)

    unit = BackfillUnit.objects.get(job=job)
    assert (unit.status, unit.error_type, unit.retryable) == (
        UnitStatus.FAILED,
        "processing_failed",
        True,
    )
    assert "claimed 7 times" in unit.error_message
    assert simulator.requests() == []


def test_every_line_a_unit_logs_carries_its_job_unit_date_and_district(
    backfill_env, simulator, fast_limits, messages
):
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    handler.addFilter(log_context.UnitContextFilter())
    logging.getLogger().addHandler(handler)
    try:
        job = jobs.create_job(
            request=backfill_request(
                {"startDate": "2025-03-10", "targetDistricts": ["42"], "skipExisting": False}
            )
        )
        dispatch.start_queued_jobs()
        run_messages(messages)
    finally:
        logging.getLogger().removeHandler(handler)
    unit = BackfillUnit.objects.get(job=job)
    lines = [r for r in records if r.unit_id]
    # The claim, the requests, the store and the end: all of them name the unit.
    assert any("claimed" in r.getMessage() for r in lines)
    assert any(f"unit {unit.pk} ended" in r.getMessage() for r in lines)
    assert {(r.job_id, r.unit_id, r.logical_date, r.district_id) for r in lines} == {
        (str(job.pk), str(unit.pk), "2025-03-10", "42")
    }


def test_lease_reclaims_are_counted_for_every_process(
    backfill_env, simulator, fast_limits, messages
):
    before = sum(counters.totals(counters.LEASE_RECLAIMS).values())
    job = jobs.create_job(
        request=backfill_request(
            {"startDate": "2025-03-10", "targetDistricts": ["42", "61"], "skipExisting": False}
        )
    )
    dispatch.start_queued_jobs()
    BackfillUnit.objects.filter(job=job).update(lease_expires_at=None)
    recovery.reclaim_lost_units()
    assert sum(counters.totals(counters.LEASE_RECLAIMS).values()) == before + 2
