"""The engine's locks (`backfill.services.locks`) against PostgreSQL itself: two connections of
their own, as two worker processes would hold them."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import psycopg
import pytest
from django.db import connection, transaction

from backfill.models import BackfillUnit, JobStatus, UnitCount, UnitStatus
from backfill.services import locks
from tests.factories import BackfillJobFactory, BackfillUnitFactory

pytestmark = pytest.mark.django_db(transaction=True)

UNITS = BackfillUnit._meta.db_table


def _connect() -> psycopg.Connection:
    params = connection.get_connection_params()
    conn = psycopg.connect(**params)
    # A deadlock is reported in a tenth of a second; nothing waits longer than 5 s.
    conn.execute("SET deadlock_timeout = '100ms'")
    conn.execute("SET lock_timeout = '5s'")
    conn.commit()
    return conn


def test_a_units_end_holding_its_job_does_not_deadlock_with_a_dispatch_adding_a_counter():
    """A dispatch moves district 1's and district 2's next units to running: the trigger adds to
    the job's (1, running) counter and creates its (2, running) one, whose job key PostgreSQL
    checks at commit. Meanwhile a unit of district 1 ends: it holds the job's row (lock 2) and
    waits for the (1, running) counter. The dispatch's commit must not wait for the job's row."""
    job = BackfillJobFactory(status=JobStatus.RUNNING)
    day = date(2025, 3, 3)
    ending = BackfillUnitFactory(
        job=job, logical_date=day, district_id="1", status=UnitStatus.RUNNING
    )
    later = day + timedelta(days=1)
    dispatched = [
        BackfillUnitFactory(job=job, logical_date=later, district_id=district).pk
        for district in ("1", "2")
    ]
    dispatcher, ender = _connect(), _connect()
    errors: list[Exception] = []
    try:
        dispatcher.execute(
            f"UPDATE {UNITS} SET status = %s WHERE id = ANY(%s)",
            [UnitStatus.RUNNING, dispatched],
        )
        locked = threading.Event()

        def end() -> None:
            try:
                ender.execute(locks.JOB_LOCK, [job.pk])
                locked.set()
                ender.execute(
                    f"UPDATE {UNITS} SET status = %s WHERE id = %s",
                    [UnitStatus.SUCCEEDED, ending.pk],
                )
                ender.commit()
            except psycopg.Error as exc:
                errors.append(exc)
                ender.rollback()

        thread = threading.Thread(target=end)
        thread.start()
        assert locked.wait(5)
        thread.join(0.3)  # the end now waits for the (1, running) counter
        try:
            dispatcher.commit()
        except psycopg.Error as exc:
            errors.append(exc)
        thread.join(10)
    finally:
        dispatcher.close()
        ender.close()
    assert errors == []
    statuses = dict(BackfillUnit.objects.filter(job=job).values_list("pk", "status"))
    assert statuses[ending.pk] == UnitStatus.SUCCEEDED
    assert {statuses[pk] for pk in dispatched} == {UnitStatus.RUNNING}
    counts = {
        (row.district_id, row.status): row.count for row in job.unit_counts.all() if row.count
    }
    assert counts == {
        ("1", UnitStatus.SUCCEEDED): 1,
        ("1", UnitStatus.RUNNING): 1,
        ("2", UnitStatus.RUNNING): 1,
    }


def test_a_jobs_lock_does_not_hold_back_a_row_that_references_the_job():
    """`job_lock` (the ORM's form of lock 2): while it is held, another connection's new row
    referencing the job (its foreign key checked at commit) commits without waiting."""
    job = BackfillJobFactory(status=JobStatus.RUNNING)
    other = _connect()
    try:
        other.execute("SET lock_timeout = '1s'")
        with transaction.atomic():
            locks.job_lock(job.pk)
            other.execute(
                f"INSERT INTO {UnitCount._meta.db_table} (job_id, district_id, status, count) "
                "VALUES (%s, '7', %s, 1)",
                [job.pk, UnitStatus.PENDING],
            )
            other.commit()  # raises LockNotAvailable if the job's row held it back
    finally:
        other.close()
    assert job.unit_counts.get(district_id="7").count == 1
