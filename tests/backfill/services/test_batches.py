"""Batches of a store-bound job's units (backfill/services/batches.py): one message, one claim,
one record of their ends for several units; pause and cancel between units; a batch whose
worker dies mid-way is dispatched again with nothing lost and nothing counted twice; units
that download are never batched.

Real PostgreSQL and Redis; the broker is replaced by a recorder (`sent`). Where a test needs to
control what a unit does (pause its job, die), the unit's work (`execution._execute`) is
replaced; the claim, leases, ends and dispatch are the engine's.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections import Counter
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backfill.contracts import backfill_request
from backfill.models import (
    BackfillJob,
    BackfillUnit,
    JobStatus,
    JobType,
    SnapshotAssembly,
    UnitStatus,
)
from backfill.services import actions, batches, broker, dispatch, execution, jobs, recovery
from backfill.services.unit_outcomes import UnitOutcome
from snapshots import store
from tests.factories import BackfillJobFactory, BackfillUnitFactory, running_store_job
from tests.fixtures.jobs import run_to_the_end
from tests.snapshots.factories import DistrictStatisticsFactory

pytestmark = pytest.mark.django_db(transaction=True)

OWNER = "celery@test"


def unit_messages(sent) -> list[tuple]:
    """The unit messages sent so far (and forget them): (unit id or batch ids, token)."""
    out = [args for task, args in sent if task == broker.RUN_UNIT_TASK]
    sent.clear()
    return out


def store_job(n_units: int, concurrency: int = 1) -> BackfillJob:
    return running_store_job(n_units, concurrency=concurrency, per_date=4)


class Calls(list):
    hook = None


@pytest.fixture
def hooked(monkeypatch) -> Calls:
    """The units whose work ran, in order; each succeeds. `hooked.hook(count, unit)`, when set,
    is called as a unit runs (count: how many ran so far, this one included)."""
    calls = Calls()

    def execute(unit, job, lease):
        calls.append(unit.pk)
        if calls.hook:
            calls.hook(len(calls), unit)
        return UnitOutcome(UnitStatus.SUCCEEDED), 0

    monkeypatch.setattr(execution, "_execute", execute)
    return calls


def run(message) -> UnitOutcome | None:
    ids, token = message
    return execution.run_unit(unit_id=ids, token=token, owner=OWNER, pid=os.getpid())


def test_a_store_bound_slot_takes_a_batch_with_a_token_of_its_own(sent, settings):
    settings.BACKFILL_STORE_BATCH_UNITS = 5
    job = store_job(40, concurrency=2)

    assert dispatch.dispatch_units() == 10

    messages = unit_messages(sent)
    assert [len(ids) for ids, _ in messages] == [5, 5]
    assert len({token for _, token in messages}) == 2
    for ids, token in messages:
        assert set(BackfillUnit.objects.filter(lease_token=token).values_list("id", flat=True)) == (
            set(ids)
        )
    # Both slots are taken (two batches in flight): nothing more goes out.
    assert dispatch.dispatch_units() == 0
    assert job.units.filter(status=UnitStatus.RUNNING).count() == 10


def days_of(ids) -> set[date]:
    return set(BackfillUnit.objects.filter(id__in=ids).values_list("logical_date", flat=True))


def test_no_two_batches_of_a_job_start_on_one_date_while_other_dates_wait(sent, settings):
    """Two processes writing one date's files at once wait for the date's store lock and
    directory: a batch starts on dates no other batch of its job works on, while there are."""
    settings.BACKFILL_STORE_BATCH_UNITS = 3
    store_job(16, concurrency=3)  # 4 dates of 4 units

    dispatch.dispatch_units()
    first = unit_messages(sent)
    assert [len(ids) for ids, _ in first] == [3, 3, 3]
    assert [days_of(ids) for ids, _ in first] == [
        {date(2025, 3, 1)},
        {date(2025, 3, 2)},
        {date(2025, 3, 3)},
    ]
    run(first[0])  # its end dispatches the next batch: the first date's last unit and the 4th's
    [following] = unit_messages(sent)
    assert days_of(following[0]) == {date(2025, 3, 1), date(2025, 3, 4)}


def test_slots_that_other_dates_cannot_fill_take_a_date_already_worked_on(sent, settings):
    settings.BACKFILL_STORE_BATCH_UNITS = 4
    store_job(4 * 2, concurrency=2)
    BackfillUnit.objects.update(logical_date=date(2025, 3, 1))  # one date of 8 units

    dispatch.dispatch_units()

    assert [len(ids) for ids, _ in unit_messages(sent)] == [4, 4]  # no slot idles


def test_batches_shrink_as_the_queue_runs_low(sent, settings):
    settings.BACKFILL_STORE_BATCH_UNITS = 16
    store_job(24, concurrency=2)

    dispatch.dispatch_units()

    # 24 units, 2 slots: batches of 12 (a fair share each), not one of 16 and one of 8.
    assert [len(ids) for ids, _ in unit_messages(sent)] == [12, 12]
    # A quarter of the most at least (two batches of 3, not 4 and 2; the 3 left go in one) ...
    assert dispatch.batch_size(6, concurrency=2) == 3
    assert dispatch.batch_size(3, concurrency=2) == 4
    # ... and the batches of what is left alike: seven of 15 (the last 10), not six of 16 and 4.
    assert dispatch.batch_size(100, concurrency=2) == 15
    settings.BACKFILL_STORE_BATCH_UNITS = 128
    assert dispatch.batch_size(120, concurrency=4) == 30
    assert dispatch.batch_size(1_200, concurrency=4) == 120


def test_a_batch_runs_its_units_and_records_their_ends_with_one_counter_update(
    sent, settings, hooked
):
    settings.BACKFILL_STORE_BATCH_UNITS = 4
    job = store_job(8, concurrency=1)
    dispatch.dispatch_units()
    [message] = unit_messages(sent)
    assert len(message[0]) == 4

    with CaptureQueriesContext(connection) as queries:
        run(message)

    assert hooked == message[0]  # each unit once, in order
    table = BackfillJob._meta.db_table
    updates = [
        q["sql"]
        for q in queries.captured_queries
        if f"UPDATE {table} " in q["sql"].replace('"', "") and "succeeded_units" in q["sql"]
    ]
    assert len(updates) == 1
    ended = BackfillUnit.objects.filter(id__in=message[0])
    assert set(ended.values_list("status", flat=True)) == {UnitStatus.SUCCEEDED}
    assert set(ended.values_list("attempts", flat=True)) == {1}
    assert all(u.finished_at and u.duration_ms is not None for u in ended)
    job.refresh_from_db()
    assert job.succeeded_units == 4
    # Its one dispatch request sent the next batch (smaller: the queue runs low), and so on.
    [following] = unit_messages(sent)
    assert not set(following[0]) & set(message[0])
    while following:
        run(following)
        following = next(iter(unit_messages(sent)), None)
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED
    assert job.succeeded_units == 8


@pytest.mark.parametrize("action", ["pause", "cancel"])
def test_pause_and_cancel_are_honoured_between_units_of_a_batch(
    sent, settings, hooked, monkeypatch, action
):
    monkeypatch.setattr(batches, "STATUS_EVERY_SECONDS", 0)  # read before every unit
    settings.BACKFILL_STORE_BATCH_UNITS = 6
    job = store_job(6, concurrency=1)
    dispatch.dispatch_units()
    [message] = unit_messages(sent)

    def act(count, unit):
        if count == 2:
            getattr(actions, f"{action}_job")(job=BackfillJob.objects.get(pk=job.pk))

    hooked.hook = act
    run(message)

    assert hooked == message[0][:2]  # the third unit did not start
    units = {u.pk: u for u in BackfillUnit.objects.filter(job=job)}
    assert [units[i].status for i in message[0][:2]] == [UnitStatus.SUCCEEDED] * 2
    rest = [units[i] for i in message[0][2:]]
    job.refresh_from_db()
    assert job.succeeded_units == 2
    if action == "pause":
        assert {u.status for u in rest} == {UnitStatus.PENDING}
        assert {u.attempts for u in rest} == {0}  # not run: their claim's attempt given back
        assert all(u.lease_token == "" and u.lease_owner == "" for u in rest)
        assert job.status == JobStatus.PAUSED
        assert unit_messages(sent) == []  # a paused job gets nothing dispatched
    else:
        assert {u.status for u in rest} == {UnitStatus.CANCELLED}
        assert job.cancelled_units == 4
        assert job.status == JobStatus.CANCELLED


def test_a_batch_stops_after_its_time_budget_and_gives_the_rest_back(sent, settings, hooked):
    settings.BACKFILL_STORE_BATCH_UNITS = 5
    settings.BACKFILL_STORE_BATCH_SECONDS = 0
    job = store_job(5, concurrency=1)
    dispatch.dispatch_units()
    [message] = unit_messages(sent)

    run(message)

    assert hooked == message[0][:1]  # at least one unit runs, then the budget is spent
    first = BackfillUnit.objects.get(pk=message[0][0])
    assert first.status == UnitStatus.SUCCEEDED
    # The other four went back to the queue and out again at once, in a new batch.
    [following] = unit_messages(sent)
    assert sorted(following[0]) == sorted(message[0][1:])
    assert set(job.units.filter(id__in=following[0]).values_list("attempts", flat=True)) == {0}


def _die_at_third_unit(message) -> None:
    """A worker process that runs the batch and is killed (no cleanup) during its third unit."""

    def execute(unit, job, lease):
        if execute.count == 2:
            os._exit(9)
        execute.count += 1
        return UnitOutcome(UnitStatus.SUCCEEDED), 0

    execute.count = 0
    execution._execute = execute
    run(message)
    os._exit(0)


@pytest.mark.parametrize("how", ["lease expired", "message delivered again"])
def test_a_batch_whose_worker_dies_midway_is_run_again_and_counted_once(
    sent, settings, hooked, monkeypatch, caplog, how
):
    settings.BACKFILL_STORE_BATCH_UNITS = 4
    caplog.set_level(logging.INFO, logger="backfill.services.execution")
    monkeypatch.setattr(recovery, "alive_workers", lambda: {OWNER})
    job = store_job(12, concurrency=1)
    dispatch.dispatch_units()
    [first] = unit_messages(sent)
    run(first)  # the first batch ends normally
    [second] = unit_messages(sent)
    assert len(second[0]) == 4
    done = BackfillUnit.objects.filter(id__in=first[0])
    finished_at = dict(done.values_list("id", "finished_at"))

    connection.close()  # the child opens its own connection
    child = multiprocessing.get_context("fork").Process(target=_die_at_third_unit, args=(second,))
    child.start()
    child.join(60)
    assert child.exitcode == 9
    hooked.clear()

    lost = BackfillUnit.objects.filter(id__in=second[0])
    assert set(lost.values_list("status", flat=True)) == {UnitStatus.RUNNING}
    assert recovery.reclaim_lost_units() == []  # its lease has not run out yet
    if how == "lease expired":
        lost.update(lease_expires_at=timezone.now() - timedelta(seconds=1))
        assert recovery.reclaim_lost_units() == [str(job.pk)]
    else:
        # Celery delivers the message of a killed pool process again (reject_on_worker_lost)
        # to the same worker: the batch is not run again as a batch.
        assert run(second) is None
        assert hooked == []
    again = unit_messages(sent)
    # The lost units go again one by one, each with a token of its own: one that kills its
    # runner would fail alone once its attempts are spent.
    assert all(isinstance(unit_id, int) for unit_id, _ in again)
    assert sorted(unit_id for unit_id, _ in again) == sorted(second[0])
    assert len({token for _, token in again} | {second[1]}) == 5

    for message in again:
        run(message)

    assert sorted(hooked) == sorted(second[0])  # none of the first batch ran again
    assert dict(done.values_list("id", "finished_at")) == finished_at
    # The batch's claim counted an attempt for each unit; the lost run's units counted one more
    # when they ran again. Each unit ends once.
    assert sorted(lost.values_list("attempts", flat=True)) == [2, 2, 2, 2]
    job.refresh_from_db()
    assert job.succeeded_units == 8
    while messages := unit_messages(sent):
        run(messages[0])
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED
    assert job.succeeded_units == 12
    assert set(job.units.values_list("status", flat=True)) == {UnitStatus.SUCCEEDED}
    recorded = Counter(
        r.getMessage().split()[1]
        for r in caplog.records
        if r.getMessage().endswith("(recorded True)")
    )
    assert sorted(map(int, recorded)) == sorted(job.units.values_list("id", flat=True))
    assert set(recorded.values()) == {1}  # each unit's end recorded once


def test_a_batch_whose_lease_was_taken_over_records_nothing_of_what_it_ran(
    sent, settings, hooked, monkeypatch
):
    monkeypatch.setattr(batches, "STATUS_EVERY_SECONDS", 0)
    settings.BACKFILL_STORE_BATCH_UNITS = 4
    job = store_job(8, concurrency=1)
    dispatch.dispatch_units()
    [message] = unit_messages(sent)
    assert len(message[0]) == 4

    def lose_the_lease(count, unit):
        if count == 2:  # the lease ran out while the second unit ran: dispatched again
            BackfillUnit.objects.filter(id__in=message[0]).update(
                lease_expires_at=timezone.now() - timedelta(seconds=1)
            )
            dispatch.dispatch_units()

    hooked.hook = lose_the_lease
    run(message)

    assert hooked == message[0][:2]  # stopped: nothing of it is the batch's any more
    job.refresh_from_db()
    assert job.succeeded_units == 0
    again = unit_messages(sent)
    assert sorted(unit_id for unit_id, _ in again) == sorted(message[0])
    hooked.hook = None
    for single in again:
        run(single)
    job.refresh_from_db()
    assert job.succeeded_units == 4  # each once
    while messages := unit_messages(sent):
        run(messages[0])
    job.refresh_from_db()
    assert job.succeeded_units == 8
    assert job.status == JobStatus.COMPLETED


def test_a_late_copy_of_a_batch_message_runs_nothing(sent, settings, hooked):
    settings.BACKFILL_STORE_BATCH_UNITS = 3
    store_job(3, concurrency=1)
    dispatch.dispatch_units()
    [message] = unit_messages(sent)
    run(message)
    count = len(hooked)

    assert run(message) is None
    assert len(hooked) == count


def test_units_that_download_are_never_batched(
    backfill_env, fast_limits, sent, settings, simulator
):
    settings.BACKFILL_STORE_BATCH_UNITS = 16
    job = jobs.create_job(
        request=backfill_request(
            {
                "startDate": "2025-03-10",
                "endDate": "2025-03-13",
                "targetDistricts": ["42", "2", "61"],
                "concurrency": 3,
            }
        )
    )
    assert not job.is_store_bound

    dispatch.start_queued_jobs()

    messages = unit_messages(sent)
    assert len(messages) == 3
    assert all(isinstance(unit_id, int) for unit_id, _ in messages)
    assert job.units.filter(status=UnitStatus.RUNNING).count() == 3
    job = run_to_the_end(job)
    assert job.status == JobStatus.COMPLETED, job.error_summary
    assert all(isinstance(unit_id, int) for unit_id, _ in unit_messages(sent))


def test_re_normalizing_the_archive_in_batches_rewrites_the_same_files_and_manifests(
    backfill_env, fast_limits, sent, settings, simulator, snapshot_root
):
    scope = {"startDate": "2025-03-10", "endDate": "2025-03-11", "targetDistricts": ["42", "2"]}
    collected = run_to_the_end(jobs.create_job(request=backfill_request(scope)))
    assert collected.status == JobStatus.COMPLETED, collected.error_summary
    files = sorted(snapshot_root.glob("????-??-??/district_*.json"))
    before = {path: path.read_bytes() for path in files}
    requests = len(simulator.requests())
    unit_messages(sent)
    settings.BACKFILL_STORE_BATCH_UNITS = 2
    job = jobs.create_job(
        request=backfill_request({**scope, "source": "archive", "concurrency": 1})
    )

    dispatch.start_queued_jobs()
    batches = 0
    while messages := unit_messages(sent):
        for message in messages:
            assert isinstance(message[0], list)
            batches += 1
            run(message)

    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED, job.error_summary
    assert job.succeeded_units == job.total_units == 4
    assert batches < job.total_units
    assert {path: path.read_bytes() for path in files} == before
    assert len(simulator.requests()) == requests
    for day in (date(2025, 3, 10), date(2025, 3, 11)):
        assert store.read_manifest(logical_date=day)["jobId"] == str(job.pk)


def test_a_retryable_failure_in_a_batch_is_retried_alone(sent, settings, monkeypatch):
    settings.BACKFILL_STORE_BATCH_UNITS = 4
    settings.BACKFILL_STORE_BATCH_SECONDS = 0  # spent after the first unit: ...
    job = store_job(4, concurrency=1)
    dispatch.dispatch_units()
    [message] = unit_messages(sent)
    failing = message[0][0]

    def execute(unit, job, lease):
        if unit.pk == failing:
            return UnitOutcome(UnitStatus.FAILED, 0, "network_error", "reset", True), 0
        return UnitOutcome(UnitStatus.SUCCEEDED), 0

    monkeypatch.setattr(execution, "_execute", execute)
    run(message)

    unit = BackfillUnit.objects.get(pk=failing)
    assert unit.status == UnitStatus.RUNNING  # waits for its retry, under a token of its own
    assert unit.lease_token != message[1] and unit.error_type == "network_error"
    messages = unit_messages(sent)
    assert (failing, unit.lease_token) in messages  # alone, as a single unit
    # ... so the batch stopped after it, though no unit of it ended: the rest went back.
    rest = BackfillUnit.objects.filter(id__in=message[0][1:])
    assert set(rest.values_list("status", flat=True)) <= {UnitStatus.PENDING, UnitStatus.RUNNING}
    assert not rest.filter(lease_token=message[1]).exists()
    job.refresh_from_db()
    assert job.succeeded_units == 0 and job.failed_units == 0


def test_a_batch_end_records_the_assembly_of_each_date_whose_last_unit_it_ended(sent, monkeypatch):
    """The dates due are decided in the end's one statement: a date with a unit still pending
    (or given back) is not due, nor one whose units all ended without running; a date whose
    last units this batch ended, or that other units ended before, is."""
    job = BackfillJobFactory(
        job_type=JobType.DATA_COLLECTION, status=JobStatus.RUNNING, total_units=9
    )
    first, second, third, fourth = (date(2025, 3, 1) + timedelta(days=i) for i in range(4))

    def unit(day, district, status=UnitStatus.RUNNING, token="t"):
        return BackfillUnitFactory(
            job=job, logical_date=day, district_id=district, status=status, lease_token=token
        )

    ours = [unit(first, "1"), unit(first, "2"), unit(second, "1"), unit(third, "1")]
    unit(second, "2", UnitStatus.SKIPPED, "")  # ended before: the second date is due
    unit(first, "3", UnitStatus.PENDING, "")  # the first date is not
    unit(third, "2", UnitStatus.UNAVAILABLE, "")  # the third's units end, but none ran...
    back = unit(fourth, "1")  # ... and the fourth's only unit is given back
    due: list[int] = []
    monkeypatch.setattr(
        batches.assembly, "run_assembly", lambda assembly_id: due.append(assembly_id)
    )
    now = timezone.now()

    def end(u, status=UnitStatus.SUCCEEDED):
        return batches.End(unit=u, status=status, started_at=now, finished_at=now)

    recorded = batches.end(
        job=job,
        token="t",
        ended=[*map(end, ours[:3]), end(ours[3], UnitStatus.UNAVAILABLE)],
        unstarted=[back.pk],
    )

    assert recorded == {u.pk for u in ours}  # the unit given back is not an end
    assert sorted(
        SnapshotAssembly.objects.filter(id__in=due).values_list("logical_date", flat=True)
    ) == [second]
    job.refresh_from_db()
    assert (job.succeeded_units, job.unavailable_units) == (3, 1)
    # Given back (then dispatched again by the end's dispatch request, under a token of its own).
    assert BackfillUnit.objects.get(pk=back.pk).lease_token != "t"


@pytest.fixture
def writing(monkeypatch, snapshot_root):
    """Each unit's work writes its district's file, and succeeds."""

    def execute(unit, job, lease):
        statistics = DistrictStatisticsFactory(
            district_id=unit.district_id, logical_date=unit.logical_date
        )
        store.write_district(logical_date=unit.logical_date, statistics=statistics)
        return UnitOutcome(UnitStatus.SUCCEEDED), 0

    monkeypatch.setattr(execution, "_execute", execute)
    return snapshot_root


def fsync_directories(monkeypatch, fail: bool = False) -> list[tuple[str, int]]:
    """The directories fsynced from now on, each with how many units had ended succeeded
    then; `fail`: a directory's fsync fails (a file's still works)."""
    synced: list[tuple[str, int]] = []
    real_fsync = os.fsync

    def fsync(fd):
        path = os.readlink(f"/proc/self/fd/{fd}")
        if os.path.isdir(path):
            ended = BackfillUnit.objects.filter(status=UnitStatus.SUCCEEDED).count()
            synced.append((path, ended))
            if fail:
                raise OSError(5, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return synced


def test_a_batch_syncs_each_directory_it_wrote_in_once_before_recording_its_ends(
    sent, settings, monkeypatch, writing
):
    settings.BACKFILL_STORE_BATCH_UNITS = 8
    job = store_job(8)  # two dates of four districts
    for day in ("2025-03-01", "2025-03-02"):
        (writing / day).mkdir()  # the dates' directories exist: only the batch's syncs count
    dispatch.dispatch_units()
    [message] = unit_messages(sent)
    synced = fsync_directories(monkeypatch)

    run(message)

    assert synced == [(str(writing / "2025-03-01"), 0), (str(writing / "2025-03-02"), 0)]
    job.refresh_from_db()
    assert job.succeeded_units == 8


def test_the_units_of_a_batch_whose_directory_could_not_be_synced_do_not_end_succeeded(
    sent, settings, monkeypatch, writing
):
    settings.BACKFILL_STORE_BATCH_UNITS = 4
    job = store_job(4)
    (writing / "2025-03-01").mkdir()
    dispatch.dispatch_units()
    [message] = unit_messages(sent)
    fsync_directories(monkeypatch, fail=True)

    run(message)

    job.refresh_from_db()
    assert job.succeeded_units == 0
    units = BackfillUnit.objects.filter(job=job)
    # Each runs again alone, under a token of its own, its file written anew.
    assert set(units.values_list("error_type", flat=True)) == {"snapshot_creation_failed"}
    assert all(
        "not durably" in message for message in units.values_list("error_message", flat=True)
    )
    assert {unit_id for unit_id, _ in unit_messages(sent)} == set(message[0])
    assert not units.filter(lease_token=message[1]).exists()
