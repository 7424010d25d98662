"""The job/unit lifecycle under any order of operations (hypothesis state machine).

The broker is replaced by a recorder of what would be sent (units go "in flight"); rules end
in-flight units with any outcome, cancel, retry failed units and recover, in any order. After
every step: the job's counters equal its unit counts, no more units run than the window allows,
and a terminal job has no running or pending unit.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Count
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from backfill.contracts import backfill_request
from backfill.models import BackfillJob, BackfillUnit, JobStatus, RateLimitConfig, UnitStatus
from backfill.services import actions, broker, dispatch, jobs, recovery, units
from tests.fixtures.backfill import lease_token

OUTCOMES = [UnitStatus.SUCCEEDED, UnitStatus.FAILED, UnitStatus.UNAVAILABLE]


class Lifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        BackfillJob.objects.all().delete()
        self.sent: list[int] = []
        self.dead_tokens: dict[int, str] = {}
        broker.send = self._record  # the broker: record instead of enqueue
        recovery.alive_workers = set  # no worker answers a ping (and none is waited for)
        self.job = jobs.create_job(
            request=backfill_request(
                {
                    "startDate": "2025-03-10",
                    "endDate": "2025-03-12",
                    "targetDistricts": ["42", "F"],
                    "collectionType": "per-district",
                    "concurrency": 2,
                    "skipExisting": False,
                }
            )
        )
        dispatch.start_queued_jobs()

    def _record(self, task, *args, countdown=None):
        if task == broker.RUN_UNIT_TASK:
            self.sent.append(args[0])
        elif task == broker.START_JOBS_TASK:
            dispatch.start_queued_jobs()

    def _running(self) -> list[int]:
        return list(
            BackfillUnit.objects.filter(job=self.job, status=UnitStatus.RUNNING).values_list(
                "id", flat=True
            )
        )

    @precondition(lambda self: self._running())
    @rule(data=st.data(), outcome=st.sampled_from(OUTCOMES))
    def finish_a_unit(self, data, outcome):
        unit_id = data.draw(st.sampled_from(self._running()))
        token = lease_token(unit_id)
        assert units.finish_unit(
            unit_id=unit_id, status=outcome, token=token, error_type="fetch_failed"
        )
        # A redelivered task for the same unit changes nothing.
        assert not units.finish_unit(unit_id=unit_id, status=UnitStatus.SUCCEEDED, token=token)

    @rule()
    def cancel(self):
        self.job.refresh_from_db()
        if self.job.is_terminal:
            with pytest.raises(Exception, match="already"):
                actions.cancel_job(job=self.job)
        else:
            actions.cancel_job(job=self.job)

    @rule()
    def retry_failed(self):
        self.job.refresh_from_db()
        failed = self.job.units.filter(status=UnitStatus.FAILED).count()
        if self.job.is_terminal and failed:
            assert actions.retry_failed(job=self.job) == failed
        else:
            with pytest.raises(Exception):  # noqa: B017 - ValidationError of either kind
                actions.retry_failed(job=self.job)

    @precondition(lambda self: self._running())
    @rule(data=st.data())
    def a_worker_claims_a_unit_and_dies(self, data):
        unit_id = data.draw(st.sampled_from(self._running()))
        token = BackfillUnit.objects.values_list("lease_token", flat=True).get(pk=unit_id)
        claimed = units.claim_unit(unit_id=unit_id, token=token, owner="celery@dead", pid=1)
        # A second delivery of the same message never runs the unit while it is held.
        if claimed:
            assert not units.claim_unit(unit_id=unit_id, token=token, owner="celery@b", pid=2)
            self.dead_tokens[unit_id] = token

    @rule()
    def reclaim_lost_units(self):
        # No worker answers: units held by the dead one are dispatched again, new tokens.
        recovery.reclaim_lost_units()
        for unit_id, token in list(self.dead_tokens.items()):
            unit = BackfillUnit.objects.get(pk=unit_id)
            if unit.status == UnitStatus.RUNNING:
                assert unit.lease_token != token and unit.lease_owner == ""
            # The dead runner's late end changes nothing.
            assert not units.finish_unit(unit_id=unit_id, token=token, status=UnitStatus.SUCCEEDED)
            del self.dead_tokens[unit_id]

    @rule()
    def recover(self):
        # Everything is stale with a zero threshold: running units go back to pending.
        recovery.recover_jobs(stale_after=timedelta(microseconds=1))

    @invariant()
    def counters_equal_unit_counts(self):
        self.job.refresh_from_db()
        counts = dict(
            self.job.units.values_list("status").annotate(n=Count("id")).order_by("status")
        )
        assert self.job.succeeded_units == counts.get(UnitStatus.SUCCEEDED, 0)
        assert self.job.failed_units == counts.get(UnitStatus.FAILED, 0)
        assert self.job.unavailable_units == counts.get(UnitStatus.UNAVAILABLE, 0)
        assert self.job.cancelled_units == counts.get(UnitStatus.CANCELLED, 0)
        assert self.job.skipped_units == counts.get(UnitStatus.SKIPPED, 0)
        assert self.job.total_units == sum(counts.values())

    @invariant()
    def window_is_respected(self):
        assert len(self._running()) <= self.job.concurrency

    @invariant()
    def terminal_jobs_have_no_live_units(self):
        self.job.refresh_from_db()
        live = self.job.units.filter(status__in=(UnitStatus.RUNNING, UnitStatus.PENDING))
        if self.job.is_terminal:
            assert not live.exists()
        if self.job.status == JobStatus.RUNNING:
            # A running job with work left always has something in flight.
            assert not live.exists() or self._running()


@pytest.mark.django_db
def test_job_lifecycle_invariants_hold_in_any_order(snapshot_root):
    RateLimitConfig.load()
    original, original_ping = broker.send, recovery.alive_workers
    try:
        Lifecycle.TestCase.settings = settings(
            max_examples=100,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        )
        Lifecycle.TestCase().runTest()
    finally:
        broker.send, recovery.alive_workers = original, original_ping
