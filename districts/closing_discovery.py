"""Discovering a data month's closing date by probing the dashboard (DOMAIN.md section 1).

For a data month M whose closing date nothing knows, a district-summary request as of a day d
of M+1 tells which month the site serves at d (`collect.served_data_month`): still M means M was
closing on d; M+1 means M closed before d. Closing periods end between day 1 and about day 29
of M+1, so a binary search over M+1's days finds the closing date in a handful of requests
(`MAX_PROBES`). When yesterday, the latest as-of the site has, still serves M, M's closing
period is still open: that is recorded too, so the same day asks no more.

Every probe goes through the caller's `DashboardClient`: give it the global rate limiter and
circuit breaker (`backfill.services.collection.discover_month_closing` does).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import F
from django.utils import timezone

from .dashboard import closing
from .dashboard.client import DashboardClient
from .dashboard.collect import served_data_month
from .dashboard.errors import DataUnavailable
from .dashboard.urls import EARLIEST_DATE, month_end
from .models import ClosingSource, MonthEndClosing

log = logging.getLogger(__name__)

# One probe at the end of the search window, then halving at most 31 days: 1 + 5.
MAX_PROBES = 6


@dataclass(frozen=True)
class ClosingDiscovery:
    """What is known about a month's closing after `discover_closing_date`."""

    data_month: date  # first day
    closing_date: date | None  # None: the closing period is still open
    still_closing_on: date | None  # for an open period: the latest as-of still serving it
    source: str  # shipped | discovered | operator | file, or "open" for an open period
    requests: int  # HTTP requests this call sent (0: it was known already)

    @property
    def is_open(self) -> bool:
        return self.closing_date is None

    @property
    def waiting_reason(self) -> str:
        """Why the month's month-end snapshot waits ("" once the month has closed)."""
        return waiting_reason(self.data_month) if self.is_open else ""


def waiting_reason(data_month: date) -> str:
    """The explanation a waiting month-end unit carries (UnitStatus.WAITING)."""
    return (
        f"{data_month:%Y-%m} is still closing on the dashboard; its month-end snapshot "
        f"({month_end(data_month)}) is collected once the closing period ends"
    )


def discover_closing_date(
    *,
    client: DashboardClient,
    data_month: date,
    today: date | None = None,
    max_probes: int = MAX_PROBES,
) -> ClosingDiscovery:
    """The closing date of `data_month`, probing the dashboard when nothing knows it.

    Known months (registry, files, database) cost no request. A month that has not ended by
    yesterday is open without a request. Otherwise at most `max_probes` probes (one or two
    requests each) find the closing date or see that the period is still open, and the result
    is stored as a `MonthEndClosing` row (source `discovered`). Raises DataUnavailable when the
    probes cannot decide (the month still served at the end of the next month, or the budget
    spent; what was learnt is kept for the next call), DashboardError from the requests, and
    ValueError for a month before program year 2008-2009.
    """
    month = data_month.replace(day=1)
    if month < EARLIEST_DATE:
        raise ValueError(f"{month:%Y-%m} is before program year 2008-2009")
    today = today or timezone.localdate()
    yesterday = today - timedelta(days=1)
    closing.clear_cache()  # another process may have stored it a moment ago
    known = closing.closing_registry().get(month)
    if known is not None:
        return ClosingDiscovery(month, known.closing_date, None, known.source, 0)
    last_day = month_end(month)
    if yesterday <= last_day:
        return ClosingDiscovery(month, None, None, "open", 0)
    # The latest as-of known to serve the month, and the search window's end.
    served = max(filter(None, (last_day, closing.still_closing_on(month))))
    if served >= yesterday:
        return ClosingDiscovery(month, None, served, "open", 0)
    window_end = min(yesterday, month_end(last_day + timedelta(days=1)))
    before = client.requests_made

    def closed_by(as_of: date) -> bool:
        seen = served_data_month(client, as_of=as_of, today=today)
        log.info("closing probe of %s at %s: the site serves %s", f"{month:%Y-%m}", as_of, seen)
        return seen is not None and seen > month

    probes = 0
    if served < window_end:
        probes += 1
        if not closed_by(window_end):
            served = window_end
    if served >= window_end:
        _record(month, None, served, client.requests_made - before)
        if window_end == yesterday:
            return ClosingDiscovery(month, None, served, "open", client.requests_made - before)
        raise DataUnavailable(
            f"{month:%Y-%m} is still served as of {window_end}, the end of the next month: its "
            "closing date cannot be found by probing; enter it in the admin"
        )
    unserved = window_end
    while unserved - served > timedelta(days=1) and probes < max_probes:
        middle = served + (unserved - served) // 2
        probes += 1
        if closed_by(middle):
            unserved = middle
        else:
            served = middle
    requests = client.requests_made - before
    if unserved - served > timedelta(days=1):
        _record(month, None, served, requests)
        raise DataUnavailable(
            f"the closing date of {month:%Y-%m} lies between {served} and {unserved}: "
            f"{max_probes} probes did not narrow it down; probing resumes from there next time"
        )
    _record(month, served, None, requests)
    log.info("%s closed on %s (%s requests)", f"{month:%Y-%m}", served, requests)
    return ClosingDiscovery(month, served, None, ClosingSource.DISCOVERED, requests)


def _record(month: date, closing_date: date | None, seen: date | None, requests: int) -> None:
    row, created = MonthEndClosing.objects.get_or_create(
        data_month=month,
        defaults={
            "closing_date": closing_date,
            "still_closing_on": seen,
            "source": ClosingSource.DISCOVERED,
            "discovered_at": timezone.now(),
            "probes": requests,
        },
    )
    if not created:
        MonthEndClosing.objects.filter(pk=row.pk).update(
            closing_date=closing_date,
            still_closing_on=seen,
            discovered_at=timezone.now(),
            probes=F("probes") + requests,
            updated_at=timezone.now(),
        )
    closing.clear_cache()


def month_closings(*, months: list[date] | None = None) -> list[closing.ClosingEntry]:
    """The merged registry's entries, oldest first (only `months` when given)."""
    registry = closing.closing_registry()
    wanted = sorted(registry) if months is None else sorted(m.replace(day=1) for m in months)
    return [registry[m] for m in wanted if m in registry]


def open_closings() -> list[MonthEndClosing]:
    """Months whose closing period was still open when last probed, newest first."""
    return list(MonthEndClosing.objects.filter(closing_date__isnull=True))
