"""Closing-date discovery: finding (or recalling) a month's closing date by probing the dashboard
through the global rate limiter and circuit breaker, one process a month at a time; and the
daily probe of the months that ended recently, before the gap fill.

`one_at_a_time` is the Redis lock for work one process does for all (a month's closing probe
here, a date's summary in `collecting`).
"""

from __future__ import annotations

import logging
from datetime import date

import redis
from django.utils import timezone

from backfill_project.redis_locks import renewed_lock
from districts.closing_discovery import ClosingDiscovery, discover_closing_date
from districts.dashboard.client import DashboardClient
from districts.dashboard.closing import closing_date_for
from districts.dashboard.errors import DashboardError, ErrorType

from .. import limits
from .planning.month_ends import recent_month_ends

log = logging.getLogger(__name__)

# Probing a month's closing takes a handful of rate-limited requests; units of the same month
# wait for the first prober instead of probing again.
DISCOVERY_LOCK_SECONDS = 300
DISCOVERY_LOCK_LEASE_SECONDS = 10


def discover_month_closing(
    *, data_month: date, client: DashboardClient | None = None, today: date | None = None
) -> ClosingDiscovery:
    """Find (or recall) `data_month`'s closing date by probing the dashboard through the
    global rate limiter and circuit breaker (`districts.closing_discovery`).

    `client` defaults to a new client with the shared limits and no response cache. One process
    probes a month at a time (a Redis lock); the others then find its answer stored. Raises
    DashboardError (including DataUnavailable when probing cannot decide; a retryable
    network_error when Redis is unreachable or the lock is not obtained in time).
    """
    own_client = client is None
    if client is None:
        guard = limits.dashboard_guard(enable_caching=False)
        client = DashboardClient(
            before_request=guard.before_request, after_response=guard.after_response
        )
    month = data_month.replace(day=1)
    name = f"{limits.key_prefix()}:closing-discovery:{month:%Y-%m}"
    try:
        with one_at_a_time(name):
            return discover_closing_date(client=client, data_month=month, today=today)
    except redis.RedisError as exc:
        raise DashboardError(
            ErrorType.NETWORK_ERROR, f"closing discovery of {month:%Y-%m}: {exc}", retryable=True
        ) from exc
    finally:
        if own_client:
            client.close()


def one_at_a_time(name: str):
    """A Redis lock for work one process does for all (a month's closing probe, a date's
    summary): waited for up to DISCOVERY_LOCK_SECONDS, as the holder may itself wait on the rate
    limiter that long, but held only while its holder lives (a short lease it renews), so a
    worker killed mid-way blocks the others for one lease, not the whole wait."""
    return renewed_lock(
        limits.get_redis(), name, lease=DISCOVERY_LOCK_LEASE_SECONDS, wait=DISCOVERY_LOCK_SECONDS
    )


def discover_recent_closings(*, today: date | None = None) -> list[ClosingDiscovery]:
    """Probe the months that ended recently (`recent_month_ends`) whose closing date is
    unknown, so that the daily gap fill can collect their month ends once closed. Failures are
    logged, never raised: the gap fill goes on with what is known."""
    today = today or timezone.localdate()
    found: list[ClosingDiscovery] = []
    for day in recent_month_ends(today=today):
        if closing_date_for(day) is not None:
            continue
        try:
            found.append(discover_month_closing(data_month=day, today=today))
        except DashboardError as exc:
            log.warning("closing date of %s not discovered: %s", f"{day:%Y-%m}", exc)
    return found
