"""Discovering a data month's closing date by probing the dashboard (DOMAIN.md section 1).

For a data month M whose closing date nothing knows, a district-summary request as of a day d
of M+1 tells which month the site serves at d (`collect.served_data_month`): still M means M was
closing on d; M+1 means M closed before d. Closing periods end between day 1 and about day 29
of M+1, so a binary search over M+1's days finds the closing date in a handful of requests
(`MAX_PROBES`, `MAX_REQUESTS`). When yesterday, the latest as-of the site has, still serves M,
M's closing period is still open: that is recorded too, so the same day asks no more.

Every probe goes through the caller's `DashboardClient`: give it the global rate limiter and
circuit breaker (`backfill.services.closing_dates.discover_month_closing` does).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
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

# A search over the next month's days (at most 31, or "still served at its end") takes at most
# 5 probes; the first probe of the live program year may try the archive path and then the root
# (DOMAIN.md section 2), so 6 requests. Probing stops at either bound (and resumes next time).
MAX_PROBES = 5
MAX_REQUESTS = 6


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
    max_requests: int = MAX_REQUESTS,
) -> ClosingDiscovery:
    """The closing date of `data_month`, probing the dashboard when nothing knows it.

    Known months (registry, files, database) cost no request. A month that has not ended by
    yesterday is open without a request. Otherwise at most `max_probes` probes and
    `max_requests` requests (a probe of the live program year may try two paths, see
    `collect.served_data_month`) find the closing date or see that the period is still open,
    and the result
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

    served, unserved, probes = search_closing(
        served,
        window_end,
        closed_by,
        max_probes=max_probes,
        may_probe=lambda: client.requests_made - before < max_requests,
    )
    requests = client.requests_made - before
    if unserved is None and served >= window_end:
        _record(month, None, served, requests)
        if window_end == yesterday:
            return ClosingDiscovery(month, None, served, "open", requests)
        raise DataUnavailable(
            f"{month:%Y-%m} is still served as of {window_end}, the end of the next month: its "
            "closing date cannot be found by probing; enter it in the admin"
        )
    if unserved is None or unserved - served > timedelta(days=1):
        _record(month, None, served, requests)
        raise DataUnavailable(
            f"the closing date of {month:%Y-%m} lies between {served} and "
            f"{unserved or window_end}: {probes} probes ({requests} requests) did not narrow it "
            "down; probing resumes from there next time"
        )
    _record(month, served, None, requests)
    log.info("%s closed on %s (%s requests)", f"{month:%Y-%m}", served, requests)
    return ClosingDiscovery(month, served, None, ClosingSource.DISCOVERED, requests)


def search_closing(
    served: date,
    window_end: date,
    closed_by: Callable[[date], bool],
    *,
    max_probes: int = MAX_PROBES,
    may_probe: Callable[[], bool] = lambda: True,
) -> tuple[date, date | None, int]:
    """Search (served, window_end] for the first day `closed_by` answers True (the month no
    longer served), `served` being known to serve the month. Returns the latest day seen
    serving it, the first day seen not serving it (None: none seen) and the probes made; the
    two days are adjacent once the search has decided. Stops after `max_probes` probes, or when
    `may_probe()` says the request budget is spent. Any window of up to 31 days is decided in
    at most `MAX_PROBES` probes.
    """
    unserved: date | None = None
    probes = 0
    while True:
        top = unserved - timedelta(days=1) if unserved else window_end
        if served >= top or probes >= max_probes or not may_probe():
            return served, unserved, probes
        probes += 1
        as_of = _next_probe(
            served, top, open_ended=unserved is None, probes=max_probes - probes + 1
        )
        if closed_by(as_of):
            unserved = as_of
        else:
            served = as_of


def _next_probe(served: date, top: date, *, open_ended: bool, probes: int) -> date:
    """The as-of to probe next, in (served, top], `top` being the last day still in question.

    The answers left are the first unserved day in (served, top], or "served through `top`":
    `top - served + 1` of them. While no probe saw the month closed (`open_ended`) and
    `probes` halvings can tell the answers apart, the probe goes as late as that allows, so a
    month still closing yesterday is seen in one or two probes and the search still ends
    within `probes`; otherwise it halves them.
    """
    answers = (top - served).days + 1
    half = 2 ** max(probes - 1, 0)
    if open_ended and answers <= 2 * half:
        return min(top, served + timedelta(days=half))
    return served + timedelta(days=answers // 2)


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
