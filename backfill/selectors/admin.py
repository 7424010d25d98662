"""Reads of the admin's pages: the index's Backfill panel and the job page's grid of dates x
districts with the units behind a cell (its live status is the API's, `jobs.job_detail`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Count
from django.db.models.functions import TruncWeek

from districts.ids import district_sort_key
from snapshots import store

from ..models import (
    ACTIVE_JOB_STATUSES,
    JOB_DISPATCH_ORDER,
    TERMINAL_JOB_STATUSES,
    BackfillJob,
    BackfillUnit,
    UnitStatus,
)
from .jobs import JobProgress, job_progress
from .waiting import why_not_running, workers_silent

# Beyond this many dates the grid shows weeks (a year of daily units stays readable).
GRID_MAX_COLUMNS = 62


# The order in which one cell that aggregates several units shows its "worst" state.
GRID_PRECEDENCE = (
    UnitStatus.FAILED,
    UnitStatus.RUNNING,
    UnitStatus.PENDING,
    UnitStatus.WAITING,
    UnitStatus.CANCELLED,
    UnitStatus.UNAVAILABLE,
    UnitStatus.SKIPPED,
    UnitStatus.SUCCEEDED,
)


@dataclass(frozen=True)
class UnitGrid:
    """Rows are districts, columns are dates (or weeks starting on `columns[i]`)."""

    by_week: bool
    columns: tuple[str, ...]  # ISO dates: each date, or the Monday of each week
    districts: tuple[str, ...]
    cells: tuple[tuple[str, ...], ...]  # [district][column] -> status ("" when no unit)

    def as_dict(self) -> dict[str, Any]:
        return {
            "byWeek": self.by_week,
            "columns": list(self.columns),
            "districts": list(self.districts),
            "cells": [list(row) for row in self.cells],
        }


def unit_grid(*, job: BackfillJob) -> UnitGrid:
    """The job's units as a grid of district x date, each cell the most telling status of its
    units (failed first, succeeded last). One grouped query; by week when the range is wide."""
    days = (job.end_date - job.start_date).days + 1
    by_week = days > GRID_MAX_COLUMNS
    units = BackfillUnit.objects.filter(job=job)
    if by_week:
        rows = (
            units.annotate(column=TruncWeek("logical_date"))
            .values_list("district_id", "column", "status")
            .annotate(n=Count("id"))
            .order_by()
        )
        first = job.start_date - timedelta(days=job.start_date.weekday())
        columns = tuple(
            first + timedelta(weeks=w) for w in range((job.end_date - first).days // 7 + 1)
        )
    else:
        rows = (
            units.values_list("district_id", "logical_date", "status")
            .annotate(n=Count("id"))
            .order_by()
        )
        columns = tuple(job.start_date + timedelta(days=d) for d in range(days))
    index = {column: i for i, column in enumerate(columns)}
    rank = {status: i for i, status in enumerate(GRID_PRECEDENCE)}
    best: dict[str, dict[int, str]] = {}
    for district_id, column, status, _ in rows:
        column = column.date() if hasattr(column, "date") else column
        cells = best.setdefault(district_id, {})
        i = index[column]
        if i not in cells or rank.get(status, -1) < rank.get(cells[i], len(rank)):
            cells[i] = status
    districts = tuple(sorted(best, key=district_sort_key))
    return UnitGrid(
        by_week=by_week,
        columns=tuple(c.isoformat() for c in columns),
        districts=districts,
        cells=tuple(tuple(best[d].get(i, "") for i in range(len(columns))) for d in districts),
    )


def cell_units(*, job: BackfillJob, district_id: str, first: date, last: date) -> list[dict]:
    """The units behind one grid cell (a date, or a week's dates) with attempts and errors."""
    units = list(
        BackfillUnit.objects.filter(
            job=job, district_id=district_id, logical_date__range=(first, last)
        ).order_by("logical_date")
    )
    pending_why = (
        unit_pending_reason(job=job, unit=units[0])
        if units and any(u.status == UnitStatus.PENDING for u in units)
        else ""
    )
    return [
        {
            "whyNotRunning": pending_why if unit.status == UnitStatus.PENDING else "",
            "date": unit.logical_date.isoformat(),
            "districtId": unit.district_id,
            "status": unit.status,
            "attempts": unit.attempts,
            "requestsMade": unit.requests_made,
            "errorType": unit.error_type,
            "errorMessage": unit.error_message,
            "retryable": unit.retryable,
            "durationMs": unit.duration_ms,
        }
        for unit in units
    ]


def unit_pending_reason(*, job: BackfillJob, unit: BackfillUnit) -> str:
    """Why a pending unit has not started: its job's reason, or its place in the job's queue."""
    reason = why_not_running(job=job)
    if reason:
        return reason
    ahead = BackfillUnit.objects.filter(
        job=job, status=UnitStatus.PENDING, logical_date__lt=unit.logical_date
    ).count()
    running = BackfillUnit.objects.filter(job=job, status=UnitStatus.RUNNING).count()
    return (
        f"Queued in its job: {ahead} earlier units wait before it and {running} run now "
        f"(the job runs at most {job.concurrency} at a time)."
    )


def last_errors(job: BackfillJob) -> dict[str, str]:
    """district id -> the message of its most recently failed unit."""
    failed = (
        BackfillUnit.objects.filter(job=job, status=UnitStatus.FAILED)
        .order_by("-finished_at")
        .values_list("district_id", "error_type", "error_message")[:5000]
    )
    errors: dict[str, str] = {}
    for district_id, error_type, message in failed:
        errors.setdefault(district_id, f"{error_type}: {message}")
    return errors


@dataclass(frozen=True)
class Overview:
    """The admin index's Backfill panel: what runs, what waits, what ended last."""

    active: tuple[tuple[BackfillJob, JobProgress], ...]
    queued: tuple[BackfillJob, ...]  # unfinished jobs that do not run: pending, paused
    finished: tuple[BackfillJob, ...]
    # Set while the snapshot store cannot take writes (nothing is dispatched meanwhile).
    store_condition: store.StoreCondition | None = None
    # Why no unit runs when no worker answers ("" while one does).
    workers_silent: str = ""


def overview(*, finished_limit: int = 5) -> Overview:
    active = BackfillJob.objects.filter(status__in=ACTIVE_JOB_STATUSES).order_by(
        *JOB_DISPATCH_ORDER
    )
    unfinished = BackfillJob.objects.exclude(
        status__in=(*ACTIVE_JOB_STATUSES, *TERMINAL_JOB_STATUSES)
    )
    return Overview(
        active=tuple((job, job_progress(job=job, per_district=False)) for job in active),
        queued=tuple(unfinished.order_by("-priority", "created_at")[:20]),
        finished=tuple(
            BackfillJob.objects.filter(status__in=TERMINAL_JOB_STATUSES).order_by("-finished_at")[
                :finished_limit
            ]
        ),
        store_condition=store.store_condition(),
        workers_silent=workers_silent(),
    )
