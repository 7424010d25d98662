"""The calendar of the dashboard's data as planning sees it: days before the data starts or inside
a closing period (unavailable), month ends whose month may still be closing (waiting), days
whose month's closing date is still to be found, and the recent month ends the daily gap fill
watches."""

from __future__ import annotations

from datetime import date, timedelta

from districts.closing_discovery import waiting_reason
from districts.dashboard.closing import (
    closing_date_for,
    closing_period_month,
    still_closing_on,
    typical_closing_days,
)
from districts.dashboard.urls import EARLIEST_DATE, month_end

from ...models import UnitStatus

# A month end whose closing date is unknown waits while its month ended at most this many days
# ago: closing periods end by about day 29 of the next month (DOMAIN.md section 1). Older
# unknown months are probed when their unit runs (`collecting`).
RECENT_MONTH_END_DAYS = 31


def blocked_dates(dates: tuple[date, ...], *, today: date) -> dict[date, tuple[str, str]]:
    """Dates no unit can collect yet, with the unit status and reason to record for them.

    A day before the data starts (2008-07-01) or inside a closing period (the site serves the
    previous month then) is `unavailable`. A month end whose month is not known to have closed
    is `waiting` while the month ended recently (see `month_end_waiting_reason`).
    """
    blocked: dict[date, tuple[str, str]] = {}
    for day in dates:
        if day < EARLIEST_DATE:
            blocked[day] = (
                UnitStatus.UNAVAILABLE,
                f"before the data starts: the dashboard serves from {EARLIEST_DATE}",
            )
            continue
        closing_of = closing_period_month(day)
        if closing_of is not None:
            blocked[day] = (
                UnitStatus.UNAVAILABLE,
                f"{day} lies in the closing period of {closing_of:%Y-%m}: the dashboard serves "
                "no data for it",
            )
            continue
        reason = month_end_waiting_reason(day, today=today)
        if reason:
            blocked[day] = (UnitStatus.WAITING, reason)
    return blocked


def unknown_closing_month(day: date, *, today: date) -> date | None:
    """The month (its first day) whose closing period `day` may lie in while nobody knows that
    month's closing date, or None.

    That is the month before `day`'s, when its closing date is neither known nor seen past
    `day`, `day` is not a month end (a logical date of its own month) nor later than yesterday,
    and it falls no later than the latest closing day of that calendar month on record
    (`closing.typical_closing_days`). A unit of such a day finds the closing date first
    (`collecting`), instead of a request that would find the month still being served.
    """
    if day == month_end(day) or day >= today or closing_period_month(day) is not None:
        return None
    previous = (day.replace(day=1) - timedelta(days=1)).replace(day=1)
    if previous < EARLIEST_DATE or closing_date_for(previous) is not None:
        return None
    return previous if day.day <= typical_closing_days(previous)[1] else None


def estimated_closing_days(dates: tuple[date, ...], *, today: date) -> dict[date, tuple[date, str]]:
    """Days whose month's closing date is not known yet but which most likely lie in its
    closing period: day -> (that month, why), for the preview.

    A day counts when `unknown_closing_month` names a month and the day falls on or before the
    median closing day of that calendar month on record. Its units still run: they find the
    closing date first and end `unavailable` without a request, or collect when the month had
    closed by then.
    """
    estimated: dict[date, tuple[date, str]] = {}
    for day in dates:
        month = unknown_closing_month(day, today=today)
        if month is None:
            continue
        median = typical_closing_days(month)[0]
        if day.day <= median:
            estimated[day] = (
                month,
                f"{day} most likely lies in the closing period of {month:%Y-%m} (estimated: "
                f"such months close about day {median} of the next month; its closing date is "
                "found before any request for the day)",
            )
    return estimated


def recent_month_ends(*, today: date) -> list[date]:
    """Month ends before `today` within the last 2 x RECENT_MONTH_END_DAYS days, oldest first:
    the months whose closing the daily gap fill watches."""
    ends: list[date] = []
    day = today.replace(day=1) - timedelta(days=1)
    while (today - day).days <= 2 * RECENT_MONTH_END_DAYS:
        ends.append(day)
        day = day.replace(day=1) - timedelta(days=1)
    return sorted(ends)


def month_end_waiting_reason(day: date, *, today: date) -> str:
    """Why the month end `day` must wait for its month's closing period to end, or "".

    It waits when its month's closing date is unknown and either a probe saw the month still
    served yesterday or the month ended at most RECENT_MONTH_END_DAYS ago. Collecting it now
    would store a day of the closing period as the month's final state.
    """
    if day != month_end(day) or closing_date_for(day) is not None:
        return ""
    seen = still_closing_on(day)
    if (seen is None or seen < today - timedelta(days=1)) and (
        (today - day).days > RECENT_MONTH_END_DAYS
    ):
        return ""
    return waiting_reason(day.replace(day=1))
