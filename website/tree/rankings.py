"""A date's rankings as the site's `all-districts-rankings.json`: every district of the date's
all-districts summary (never a subset), ranked by our analytics (DOMAIN.md section 8: Borda
points over club growth, payment growth and distinguished %, ties sharing a rank)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from analytics.documents import RANKING_CATEGORIES, rankings_document
from analytics.services import read_date_summary
from districts.dashboard import figures
from districts.dashboard.errors import DashboardError
from districts.dashboard.statistics import DistrictStatistics
from districts.ids import site_district_id
from website.tree.district import district_name

# The versions the site's rankings metadata carries: ours, not analytics-core's.
SCHEMA_VERSION = "backfill-1"
RANKING_VERSION = "borda-backfill-1"
UNKNOWN_REGION = "Unknown"
_RANK_FIELDS = dict(
    zip(RANKING_CATEGORIES, ("clubsRank", "paymentsRank", "distinguishedRank"), strict=True)
)


@dataclass(frozen=True)
class Standing:
    """One district of a date's rankings as our analytics hold it, before the rankings file
    writes a missing figure as 0 and an unranked category after every ranked district: the
    analytics files say "no rank" (None) where the rankings file cannot."""

    region: str | None
    paid_clubs: int | None
    paid_club_base: int | None
    payments: int | None
    payment_base: int | None
    distinguished_clubs: int | None
    values: dict[str, float | None]  # by ranking category
    ranks: dict[str, int | None]  # by ranking category; None: no value, no rank


def _standing(stats: DistrictStatistics, ranked: dict[str, Any]) -> Standing:
    return Standing(
        region=stats.region,
        paid_clubs=stats.clubs.paid,
        paid_club_base=stats.clubs.base,
        payments=stats.payments.total_ytd,
        payment_base=stats.payments.base,
        distinguished_clubs=stats.clubs.total_distinguished,
        values=dict(ranked["values"]),
        ranks=dict(ranked["ranks"]),
    )


def _n(value: int | float | None) -> int | float:
    return 0 if value is None else value


def _row(
    stats: DistrictStatistics, ranked: dict[str, Any], unranked: dict[str, int]
) -> dict[str, Any]:
    clubs, payments = stats.clubs, stats.payments
    values = ranked["values"]
    row: dict[str, Any] = {
        "districtId": site_district_id(stats.district_id),
        "districtName": district_name(stats.district_id),
        # The site's collector writes `Unknown` for a summary row without a region.
        "region": stats.region or UNKNOWN_REGION,
        "paidClubs": _n(clubs.paid),
        "paidClubBase": _n(clubs.base),
        "clubGrowthPercent": _n(values["clubGrowthPercent"]),
        "totalPayments": _n(payments.total_ytd),
        "paymentBase": _n(payments.base),
        "paymentGrowthPercent": _n(values["paymentGrowthPercent"]),
        "activeClubs": _n(figures.active_clubs(stats)),
        "distinguishedClubs": _n(clubs.total_distinguished),
        "selectDistinguished": _n(clubs.select_distinguished),
        "presidentsDistinguished": _n(clubs.presidents_distinguished),
        "distinguishedPercent": _n(values["distinguishedPercent"]),
    }
    for category, field in _RANK_FIELDS.items():
        # A district without a value in a category comes right after every ranked one.
        rank = ranked["ranks"][category]
        row[field] = unranked[category] if rank is None else rank
    row["aggregateScore"] = ranked["totalPoints"]
    row["overallRank"] = ranked["overallRank"]
    if clubs.smedley_distinguished is not None:
        row["smedleyDistinguished"] = clubs.smedley_distinguished
    return row


Rankings = tuple[list[dict[str, Any]] | None, dict[str, Standing], date | None, str | None]


def ranking_rows(day: date) -> Rankings:
    """(the site's ranking rows of `day` in overall order, each district's `Standing`, the day
    the summary is as of, None) or (None, {}, None, why there are none): no stored summary, or
    an archived summary no longer acceptable. The as-of day is the site's `sourceCsvDate`: the
    date itself, or for a month end collected in its closing period the next month's day."""
    try:
        summary = read_date_summary(day)
    except DashboardError as exc:
        return None, {}, None, f"the all-districts summary of {day} is not acceptable: {exc}"
    if summary is None or not summary.statistics:
        return None, {}, None, None
    document = rankings_document(
        logical_date=day, statistics=summary.statistics, snapshot_status=None
    )
    by_id = {s.district_id: s for s in summary.statistics}
    unranked = {
        category: 1 + sum(r["ranks"][category] is not None for r in document["rankings"])
        for category in RANKING_CATEGORIES
    }
    ranked = document["rankings"]
    rows = [_row(by_id[r["districtId"]], r, unranked) for r in ranked]
    standings = {r["districtId"]: _standing(by_id[r["districtId"]], r) for r in ranked}
    as_of = max(s.as_of_date for s in summary.statistics)
    return rows, standings, as_of, None
