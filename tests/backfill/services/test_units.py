"""Leases and recovery (backfill/services/units.py, recovery.py): a claimed unit records its
worker and renews a short lease; lost units are dispatched again by reclaim, by dispatch and at
worker start; late messages change nothing; free slots are shared by every running job.

No worker runs here: `broker.send` records what would go to the broker, `alive_workers` answers
what the test says.
"""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from backfill import tasks
from backfill.contracts import backfill_request
from backfill.models import BackfillJob, BackfillUnit, JobStatus, RateLimitConfig, UnitStatus
from backfill.services import actions, broker, dispatch, jobs, recovery, units
from snapshots import store
from tests.backfill.services.test_jobs import (
    OTHER_DATES,
    REQUEST,
    assert_counters_match_units,
    create_started,
    finish,
    running,
    set_limits,
)

DEAD = "celery@dead-worker"
LIVE = "celery@live-worker"


@pytest.fixture(autouse=True)
def alive(monkeypatch) -> set[str]:
    hostnames: set[str] = {LIVE}
    monkeypatch.setattr(recovery, "alive_workers", lambda: set(hostnames))
    return hostnames


@pytest.fixture
def sent(monkeypatch) -> list[tuple]:
    """Unit messages that would have gone to the broker: (unit id, token)."""
    calls: list[tuple] = []

    def record(task, *args, countdown=None):
        if task == broker.RUN_UNIT_TASK:
            calls.append(args)

    monkeypatch.setattr(broker, "send", record)
    return calls


@pytest.fixture
def finalized(monkeypatch) -> None:
    monkeypatch.setattr(store, "finalize_snapshot", lambda **kwargs: {})


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    def run(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    return run


def token_of(unit_id: int) -> str:
    return BackfillUnit.objects.values_list("lease_token", flat=True).get(pk=unit_id)


def claim(unit_id: int, owner: str = LIVE, pid: int = 4242, token: str | None = None) -> bool:
    return units.claim_unit(unit_id=unit_id, token=token or token_of(unit_id), owner=owner, pid=pid)


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


# claiming


def test_dispatch_sends_each_unit_with_a_fresh_lease_token(db, sent, run_on_commit):
    job = create_started(run_on_commit, concurrency=2)
    units = BackfillUnit.objects.filter(pk__in=running(job))
    assert sorted(sent) == sorted((u.pk, u.lease_token) for u in units)
    assert all(u.lease_token and u.lease_owner == "" and u.lease_expires_at for u in units)


def test_claim_records_the_worker_and_a_second_delivery_is_refused(db, sent, run_on_commit):
    job = create_started(run_on_commit, concurrency=1)
    (unit_id,) = running(job)
    holder = os.getpid()  # a live process
    assert claim(unit_id, owner=LIVE, pid=holder)
    unit = BackfillUnit.objects.get(pk=unit_id)
    assert (unit.lease_owner, unit.lease_pid, unit.attempts) == (LIVE, holder, 1)
    assert unit.lease_expires_at > timezone.now()
    # The same message delivered twice (acks_late) while its runner lives: not run again.
    assert not claim(unit_id, owner="celery@other", pid=12)
    assert not claim(unit_id, owner=LIVE, pid=13)


def test_redelivery_after_the_pool_process_died_takes_the_unit_over_at_once(
    db, sent, run_on_commit
):
    job = create_started(run_on_commit, concurrency=1)
    (unit_id,) = running(job)
    assert claim(unit_id, owner=LIVE, pid=dead_pid())
    assert claim(unit_id, owner=LIVE, pid=777)
    assert BackfillUnit.objects.get(pk=unit_id).lease_pid == 777


def test_a_message_with_an_old_token_is_ignored(db, sent, run_on_commit):
    job = create_started(run_on_commit, concurrency=1)
    (unit_id,) = running(job)
    old = token_of(unit_id)
    assert claim(unit_id, owner=DEAD)
    run_on_commit(recovery.reclaim_lost_units)  # DEAD does not answer: dispatched again
    assert token_of(unit_id) != old
    assert not claim(unit_id, owner=LIVE, token=old)
    assert not units.finish_unit(unit_id=unit_id, token=old, status=UnitStatus.SUCCEEDED)
    assert claim(unit_id, owner=LIVE)


def test_renewal_extends_the_lease_and_fails_once_the_unit_was_taken_over(db, sent, run_on_commit):
    job = create_started(run_on_commit, concurrency=1)
    (unit_id,) = running(job)
    token = token_of(unit_id)
    claim(unit_id)
    BackfillUnit.objects.filter(pk=unit_id).update(lease_expires_at=timezone.now())
    assert units.renew_lease(unit_id=unit_id, token=token)
    assert BackfillUnit.objects.get(pk=unit_id).lease_expires_at > timezone.now()
    BackfillUnit.objects.filter(pk=unit_id).update(lease_token="someone-else")
    assert not units.renew_lease(unit_id=unit_id, token=token)


# finding 1: a killed worker's units


def test_units_of_a_worker_that_no_longer_answers_are_dispatched_again_at_once(
    db, sent, run_on_commit
):
    job = create_started(run_on_commit, concurrency=3)
    dead_units = running(job)
    for unit_id in dead_units:
        assert claim(unit_id, owner=DEAD)
    sent.clear()

    assert run_on_commit(recovery.reclaim_lost_units) == [str(job.pk)]

    assert sorted(unit_id for unit_id, _ in sent) == dead_units
    for unit in BackfillUnit.objects.filter(pk__in=dead_units):
        assert (unit.status, unit.lease_owner) == (UnitStatus.RUNNING, "")
        assert (unit.pk, unit.lease_token) in sent
    job.refresh_from_db()
    assert job.recovery_count == 1
    assert_counters_match_units(job)


def test_units_of_a_live_worker_are_never_dispatched_again(db, sent, run_on_commit):
    job = create_started(run_on_commit, concurrency=2)
    for unit_id in running(job):
        claim(unit_id, owner=LIVE)
    sent.clear()
    assert run_on_commit(recovery.reclaim_lost_units) == []
    # Nor by an operator's recovery with a zero threshold (finding 5).
    assert run_on_commit(recovery.recover_jobs, stale_after=timedelta(0)) == []
    assert sent == []


def test_a_unit_claimed_after_the_ping_is_not_judged_by_it(db, sent, run_on_commit, alive):
    job = create_started(run_on_commit, concurrency=1)
    (unit_id,) = running(job)
    alive.clear()  # the ping saw no worker: the claim below happens after it
    original = recovery.alive_workers

    def ping_then_claim():
        hostnames = original()
        claim(unit_id, owner="celery@new-worker")
        return hostnames

    recovery.alive_workers = ping_then_claim
    try:
        assert run_on_commit(recovery.reclaim_lost_units) == []
    finally:
        recovery.alive_workers = original
    assert BackfillUnit.objects.get(pk=unit_id).lease_owner == "celery@new-worker"


def test_unknown_liveness_reclaims_expired_leases_only(db, sent, run_on_commit, monkeypatch):
    monkeypatch.setattr(recovery, "alive_workers", lambda: None)  # broker down: ping impossible
    job = create_started(run_on_commit, concurrency=2)
    held, expired = running(job)
    claim(held, owner=DEAD)
    claim(expired, owner=DEAD)
    BackfillUnit.objects.filter(pk=expired).update(lease_expires_at=timezone.now())
    sent.clear()
    run_on_commit(recovery.reclaim_lost_units)
    assert [unit_id for unit_id, _ in sent] == [expired]


# finding 2: a message lost with Redis


def test_a_dispatched_unit_whose_message_was_lost_is_sent_again_when_its_lease_ends(
    db, sent, run_on_commit, settings
):
    settings.BACKFILL_UNIT_LEASE_SECONDS = 30
    job = create_started(run_on_commit, concurrency=1)
    (unit_id,) = running(job)
    sent.clear()
    assert run_on_commit(recovery.reclaim_lost_units) == []  # its message may still be on its way
    BackfillUnit.objects.filter(pk=unit_id).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert run_on_commit(recovery.reclaim_lost_units) == [str(job.pk)]
    assert [u for u, _ in sent] == [unit_id]


def test_dispatch_replaces_dead_units_that_fill_the_window(db, sent, finalized, run_on_commit):
    job = create_started(run_on_commit, concurrency=2)
    first, lost = running(job)
    claim(first)
    BackfillUnit.objects.filter(pk=lost).update(lease_expires_at=timezone.now())
    sent.clear()
    finish(run_on_commit, first, token=token_of(first))
    # The lost unit went out again and the freed slot took the next pending unit.
    sent_ids = [u for u, _ in sent]
    assert lost in sent_ids and len(sent_ids) == 2


def test_requeue_gives_the_unit_a_new_token_and_counts_its_requests(db, sent, run_on_commit):
    job = create_started(run_on_commit, concurrency=1)
    (unit_id,) = running(job)
    token = token_of(unit_id)
    claim(unit_id)
    sent.clear()
    assert run_on_commit(
        units.requeue_unit, unit_id=unit_id, countdown=5, token=token, requests_made=4
    )
    unit = BackfillUnit.objects.get(pk=unit_id)
    assert unit.lease_token != token and unit.lease_owner == ""
    assert unit.lease_expires_at > timezone.now() + timedelta(seconds=5)
    assert unit.requests_made == 4
    assert sent == [(unit_id, unit.lease_token)]
    assert not units.requeue_unit(unit_id=unit_id, countdown=5, token=token)


def test_lost_units_of_a_cancelling_job_end_cancelled(db, sent, run_on_commit):
    job = create_started(run_on_commit, concurrency=2)
    for unit_id in running(job):
        claim(unit_id, owner=DEAD)
    actions.cancel_job(job=job)
    run_on_commit(recovery.reclaim_lost_units)
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert_counters_match_units(job)


# finding 3: free slots shared by every running job


@pytest.mark.parametrize("active_jobs", [1, 2, 3])
def test_every_job_runs_to_the_end_whatever_the_number_of_active_jobs(
    db, sent, finalized, settings, run_on_commit, active_jobs
):
    settings.BACKFILL_MAX_ACTIVE_JOBS = active_jobs
    set_limits(max_concurrent=3)
    # Job 1 alone could fill the window; the others still run, each at its own concurrency.
    # Each job on dates of its own (two active jobs never collect one date at once).
    created = [
        jobs.create_job(
            request=backfill_request(
                {
                    **REQUEST,
                    "startDate": f"2025-0{month}-10",
                    "endDate": f"2025-0{month}-12",
                    "concurrency": concurrency,
                }
            )
        )
        for month, concurrency in ((3, 3), (4, 1), (5, 1))
    ]
    run_on_commit(dispatch.start_queued_jobs)
    seen_active = 0
    for _ in range(100):
        busy = list(BackfillUnit.objects.filter(status=UnitStatus.RUNNING).order_by("id"))
        if not busy:
            break
        assert len(busy) <= 3  # the global window
        seen_active = max(seen_active, len({u.job_id for u in busy}))
        finish(run_on_commit, busy[0].pk)
        run_on_commit(dispatch.start_queued_jobs)  # what the START_JOBS message would do
    for job in created:
        job.refresh_from_db()
        assert job.status == JobStatus.COMPLETED, (job.pk, job.status)
        assert_counters_match_units(job)
    assert seen_active == active_jobs


def test_free_slots_go_to_the_oldest_running_job_first(db, sent, settings, run_on_commit):
    settings.BACKFILL_MAX_ACTIVE_JOBS = 2
    set_limits(max_concurrent=3)
    first = jobs.create_job(request=backfill_request({**REQUEST, "concurrency": 2}))
    second = jobs.create_job(request=backfill_request({**OTHER_DATES, "concurrency": 3}))
    run_on_commit(dispatch.start_queued_jobs)
    assert (len(running(first)), len(running(second))) == (2, 1)


# finding 8: retrying a cancelled job


def test_retrying_a_cancelled_job_runs_failed_units_only_and_ends_partial_success(
    db, sent, finalized, run_on_commit
):
    job = create_started(run_on_commit, concurrency=2, endDate="2025-03-10")
    ok, bad = running(job)
    finish(run_on_commit, ok)
    finish(run_on_commit, bad, status=UnitStatus.FAILED, error_type="fetch_failed")
    BackfillJob.objects.filter(pk=job.pk).update(status=JobStatus.CANCELLED)
    BackfillUnit.objects.filter(pk=ok).update(status=UnitStatus.CANCELLED)
    BackfillJob.objects.filter(pk=job.pk).update(succeeded_units=0, cancelled_units=1)
    assert run_on_commit(actions.retry_failed, job=job) == 1
    run_on_commit(dispatch.start_queued_jobs)
    finish(run_on_commit, bad)
    job.refresh_from_db()
    assert job.units.get(pk=ok).status == UnitStatus.CANCELLED  # never run by a retry
    assert job.status == JobStatus.PARTIAL_SUCCESS
    assert_counters_match_units(job)


def test_max_concurrent_is_read_per_dispatch(db, sent, run_on_commit):
    RateLimitConfig.load()
    set_limits(max_concurrent=1)
    job = create_started(run_on_commit, concurrency=3)
    assert len(running(job)) == 1


# the beat schedule (migration 0004)


def test_beat_reclaims_lost_units_every_ten_seconds(db):
    schedule = PeriodicTask.objects.get(name="backfill: re-dispatch lost units")
    assert (schedule.task, schedule.enabled) == ("backfill.tasks.reclaim_lost_units", True)
    assert (schedule.interval.every, schedule.interval.period) == (10, "seconds")
    assert tasks.reclaim_lost_units.name == schedule.task
