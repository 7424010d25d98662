"""Assembling a date's snapshot (its manifest) once the date's last unit of a job has ended.

The `SnapshotAssembly` row, written in the transaction that ends that unit (`date_ended`, under
the job's row lock, from `units.finish_unit`), is the durable "to do": the process that ended
the unit assembles right after its transaction, holding no database lock (the store takes the
date's own lock), then deletes the row. If it dies in between, or the store fails, the row
stays and `recovery.reclaim_lost_units` sends `backfill.tasks.assemble_snapshot` for it once
its claim (or, never claimed, its age) has run out. A job finishes only when it has no
assembly left (but a job cancelled while the store cannot take writes, whose assemblies are
done once it can).
While the store cannot take writes (full, read-only) an assembly waits quietly: its failure is
the store's condition, reported once, and no task is sent for it until the store takes writes.
Nothing here dispatches: the caller does (`dispatch.assemble_and_dispatch`).

A publish job writes no snapshot: its one assembly, due once its last unit has ended (row dated
the job's end date), writes the destination's indexes (`site_units.publish_indexes`), so that
`v1/latest.json` goes last and the site never points at a date half written. Not when the job
is being cancelled, nor when none of its dates was published.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from snapshots import store
from website.errors import BadDestination, NoDestination, PublishError

from ..models import BackfillJob, BackfillUnit, JobStatus, JobType, SnapshotAssembly, UnitStatus
from . import broker, site_units

log = logging.getLogger(__name__)

# How long a process may take to assemble a date before another one may take over.
ASSEMBLY_CLAIM_SECONDS = 30
# A row its process has not claimed this long after the unit's end was left by a process that
# died between the two (it claims it milliseconds after its commit).
UNCLAIMED_SECONDS = 10


def run_assembly(*, assembly_id: int) -> bool:
    """Claim one pending assembly, write its date's manifest, delete the row. False when
    another process holds it or it is done already; raises nothing (a store error leaves the
    row for the next reclaim and is logged)."""
    now = timezone.now()
    claimed = (
        SnapshotAssembly.objects.filter(pk=assembly_id)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + timedelta(seconds=ASSEMBLY_CLAIM_SECONDS))
    )
    if not claimed:
        return False
    assembly = SnapshotAssembly.objects.select_related("job").get(pk=assembly_id)
    try:
        if _published_since(assembly):
            # Its process died after publishing, before deleting the row: not published twice.
            log.info(
                "job %s: the snapshot of %s was published before its process died",
                assembly.job_id,
                assembly.logical_date,
            )
        else:
            assemble_snapshot(job=assembly.job, logical_date=assembly.logical_date)
    except (NoDestination, BadDestination) as exc:
        # A publish job's destination is no longer usable (it was when the job was created):
        # the step is recorded as failed and the job ends partial.
        site_units.indexes_not_published(job=assembly.job, message=exc.message)
    except PublishError as exc:
        # Another publish to the destination holds its lock, or Redis is away: again later.
        log.warning(
            "job %s: indexes not published yet (%s); again at the next reclaim",
            assembly.job_id,
            exc.message,
        )
        SnapshotAssembly.objects.filter(pk=assembly_id).update(claimed_until=None)
        return False
    except store.StoreUnwritable as exc:
        # A condition of the whole store, reported once when it begins (`record_unwritable`):
        # the assembly waits quietly and is sent again once the store takes writes.
        recorded = store.record_unwritable(exc) is not None
        log.log(
            logging.INFO if recorded else logging.ERROR,
            "job %s: the snapshot of %s waits for the store (%s)",
            assembly.job_id,
            assembly.logical_date,
            exc,
        )
        SnapshotAssembly.objects.filter(pk=assembly_id).update(claimed_until=None)
        return False
    except store.SnapshotStoreError as exc:
        log.error(
            "job %s: the snapshot of %s not assembled (%s); again at the next reclaim",
            assembly.job_id,
            assembly.logical_date,
            exc,
        )
        SnapshotAssembly.objects.filter(pk=assembly_id).update(claimed_until=None)
        return False
    SnapshotAssembly.objects.filter(pk=assembly_id).delete()
    return True


def _published_since(assembly: SnapshotAssembly) -> bool:
    """Does the date's manifest already carry this job's assembly of this pass (written by this
    job after the row was)? Clocks of one deployment agree to well under the seconds a pass
    takes."""
    manifest = store.read_manifest(logical_date=assembly.logical_date) or {}
    updated = manifest.get("updatedAt")
    return (
        manifest.get("jobId") == str(assembly.job_id)
        and updated is not None
        and datetime.fromisoformat(updated) >= assembly.created_at
    )


def date_ended(job: BackfillJob, logical_date: date, *, now) -> int | None:
    """`dates_ended` for one date: its `SnapshotAssembly` id, or None."""
    return next(iter(dates_ended(job, [logical_date], now=now)), None)


def dates_ended(job: BackfillJob, days: Iterable[date], *, now) -> list[int]:
    """Record that each of `days` whose units have all ended, one of them having run
    (succeeded or failed), must have its snapshot assembled: their `SnapshotAssembly` ids,
    written in one statement (`DUE`). Call under the job's lock (`locks`), after the ends
    were written: the check then sees every end committed before it, and two processes ending
    a date's last units cannot both miss it. A publish job's one assembly is its indexes
    (`_indexes_due`); analytics and imports have none."""
    days = sorted(set(days))
    if not days:
        return []
    if job.job_type == JobType.PUBLISH:
        due = _indexes_due(job, now=now)
        return [] if due is None else [due]
    if not writes_snapshots(job):
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH ended AS (SELECT NULL::bigint AS id, NULL::varchar AS status, day AS "
            f"logical_date FROM unnest(%s::date[]) AS day) {DUE}",
            [days, job.pk, now, job.pk],
        )
        return [row[0] for row in cursor.fetchall()]


def writes_snapshots(job: BackfillJob) -> bool:
    """Does a date's last unit of `job` call for its snapshot's assembly (`DUE`)? Analytics
    read snapshots and write none; an import writes whole snapshots itself; a publish job's
    one assembly is its indexes (`_indexes_due`)."""
    return job.job_type not in (JobType.ANALYTICS_GENERATION, JobType.IMPORT, JobType.PUBLISH)


def _quoted(*statuses: str) -> str:
    return ", ".join(f"'{status}'" for status in statuses)


# The assemblies due (the `date_ended` rule, for several dates in one statement): an INSERT of
# a `SnapshotAssembly` row for each date of the relation `ended` (id, status, logical_date: the
# units the same statement ended, which its snapshot still shows running; or dates alone, id
# NULL) whose units have all ended, one of them having run, RETURNING the rows' ids. Defined
# by the caller's WITH; parameters: the job's id, now, the job's id.
_UNITS, _ASSEMBLIES = BackfillUnit._meta.db_table, SnapshotAssembly._meta.db_table
_OURS = "EXISTS (SELECT 1 FROM ended AS e WHERE e.id = u.id{})"
DUE = (
    f"INSERT INTO {_ASSEMBLIES} (job_id, logical_date, created_at, claimed_until) "
    f"SELECT %s, u.logical_date, %s, NULL FROM {_UNITS} AS u "
    "WHERE u.job_id = %s AND u.logical_date IN (SELECT logical_date FROM ended) "
    "GROUP BY u.logical_date HAVING NOT bool_or("
    f"u.status IN ({_quoted(UnitStatus.PENDING, UnitStatus.RUNNING)}) AND NOT {_OURS.format('')}"
    f") AND bool_or(u.status IN ({_quoted(UnitStatus.SUCCEEDED, UnitStatus.FAILED)}) OR "
    + _OURS.format(f" AND e.status IN ({_quoted(UnitStatus.SUCCEEDED, UnitStatus.FAILED)})")
    + ") ORDER BY u.logical_date ON CONFLICT (job_id, logical_date) DO UPDATE "
    "SET created_at = EXCLUDED.created_at, claimed_until = NULL RETURNING id"
)


def _indexes_due(job: BackfillJob, *, now) -> int | None:
    """A publish job's indexes step, once no unit of the job is left to run and one of its
    dates was published (not while it is being cancelled): the `SnapshotAssembly` id, or
    None."""
    if job.status == JobStatus.CANCELLING:
        return None
    units = job.units.all()
    if units.filter(status__in=(UnitStatus.PENDING, UnitStatus.RUNNING)).exists():
        return None
    if not units.filter(status=UnitStatus.SUCCEEDED).exists():
        return None
    assembly, _ = SnapshotAssembly.objects.update_or_create(
        job=job, logical_date=job.end_date, defaults={"created_at": now, "claimed_until": None}
    )
    return assembly.pk


def reclaim_assemblies(*, now) -> None:
    """Send the assemblies their process left behind (claim run out, or never claimed and older
    than a claim) as tasks, after commit; none while the store cannot take writes (they wait
    for it, and are sent at the first reclaim after it can)."""
    if store.store_condition() is not None:
        return
    stale = now - timedelta(seconds=UNCLAIMED_SECONDS)
    left = list(
        SnapshotAssembly.objects.filter(
            Q(claimed_until__lt=now) | Q(claimed_until__isnull=True, created_at__lt=stale)
        ).values_list("id", flat=True)[:500]
    )
    for assembly_id in left:
        transaction.on_commit(
            lambda assembly_id=assembly_id: broker.send(broker.ASSEMBLE_TASK, assembly_id)
        )
    if left:
        log.warning("%s snapshot assemblies left behind: sent again", len(left))


def assemble_snapshot(*, job: BackfillJob, logical_date: date) -> dict[str, Any] | None:
    """Write the date's manifest from what is on disk, with this job's district errors.

    Nothing to assemble when no unit of the date ran (all skipped, unavailable or cancelled),
    nor for an analytics-generation or import job. A publish job's assembly writes the
    destination's indexes instead (`site_units.publish_indexes`).
    """
    if job.job_type in (JobType.ANALYTICS_GENERATION, JobType.IMPORT):
        return None
    if job.job_type == JobType.PUBLISH:
        site_units.publish_indexes(job=job)
        return None
    units = list(
        job.units.filter(
            logical_date=logical_date, status__in=(UnitStatus.SUCCEEDED, UnitStatus.FAILED)
        ).values("district_id", "status", "error_type", "error_message")
    )
    if not units:
        return None
    errors = {
        u["district_id"]: {"errorType": u["error_type"], "message": u["error_message"]}
        for u in units
        if u["status"] == UnitStatus.FAILED
    }
    manifest = store.finalize_snapshot(
        logical_date=logical_date,
        collection_strategy=job.collection_strategy,
        scope=job.scope.get("targetDistricts") or job.scope.get("configuredDistricts") or [],
        job_id=job.pk,
        district_errors=errors,
    )
    # Once per publication (the fault suite counts these lines).
    log.info("job %s: assembled the snapshot of %s", job.pk, logical_date)
    return manifest
