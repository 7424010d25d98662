"""The district figures, one definition each, whatever report they were read from.

A district's statistics come either from the all-districts summary (`detail: summary`) or from
its three per-district reports (`detail: full`). The two publish different columns, so a figure
such as "active clubs" is stored in different fields; the functions here are the one place that
says what each figure is, and the normalizer, the analytics and anything publishing figures read
them through here (DOMAIN.md sections 7 and 8):

- **Active clubs**: every club that is not suspended (`Active`, `Low` and `Ineligible`), which
  is the summary's `Active Clubs`. A full-detail file stores the clubs by status (`clubs.active`
  there counts only the clubs whose status is `Active`), so it is `total - suspended`.
- **Distinguished %**: Total Distinguished / Active Clubs x 100, rounded to 2 decimals; None
  without a count or without active clubs.
- **Club growth %**: (Paid Clubs - Paid Club Base) / Paid Club Base x 100, rounded to 2
  decimals; **payment growth %**: (Total YTD Payments - Payment Base) / Payment Base x 100. The
  per-district reports publish no payment base, so payment growth is None for them.
- **Paid clubs**, **payments** (total YTD) and **membership** (active members, base, net
  growth) are the published counts or their sums over the clubs, stored as they are.

A figure the source does not give is None, never 0.
"""

from __future__ import annotations

from .statistics import ClubCounts, DistrictStatistics


def percent(part: int | None, whole: int | None) -> float | None:
    """part / whole x 100 rounded to 2 decimals; None without a count or with a zero whole."""
    if part is None or not whole:
        return None
    return round(part / whole * 100, 2)


def growth_percent(current: int | None, base: int | None) -> float | None:
    """(current - base) / base x 100 rounded to 2 decimals; None without a count or base."""
    if current is None or not base:
        return None
    return round((current - base) / base * 100, 2)


def active_clubs_of(clubs: ClubCounts, detail: str) -> int | None:
    """Active clubs (every club not suspended) from the stored club counts of `detail`."""
    if detail == "summary":
        return clubs.active
    if clubs.total is None or clubs.suspended is None:
        return None
    return clubs.total - clubs.suspended


def active_clubs(statistics: DistrictStatistics) -> int | None:
    return active_clubs_of(statistics.clubs, statistics.detail)


def distinguished_percent(statistics: DistrictStatistics) -> float | None:
    """Total Distinguished / Active Clubs x 100 (DOMAIN.md section 8); the stored figure only
    when the counts do not give it."""
    value = percent(statistics.clubs.total_distinguished, active_clubs(statistics))
    return statistics.clubs.distinguished_percent if value is None else value


def club_growth_percent(statistics: DistrictStatistics) -> float | None:
    value = growth_percent(statistics.clubs.paid, statistics.clubs.base)
    return statistics.clubs.growth_percent if value is None else value


def payment_growth_percent(statistics: DistrictStatistics) -> float | None:
    value = growth_percent(statistics.payments.total_ytd, statistics.payments.base)
    return statistics.payments.growth_percent if value is None else value


def clubs_by_status(statistics: DistrictStatistics) -> dict[str, int | None]:
    """Clubs by published status; the summary publishes no statuses, so all None there (its
    `Active Clubs` is `active_clubs`, not the clubs whose status is `Active`)."""
    clubs = statistics.clubs
    if statistics.detail == "summary":
        return {"active": None, "low": None, "suspended": None, "ineligible": None}
    return {
        "active": clubs.active,
        "low": clubs.low,
        "suspended": clubs.suspended,
        "ineligible": clubs.ineligible,
    }
