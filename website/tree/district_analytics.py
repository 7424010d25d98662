"""The newest date's `district_{id}_analytics.json` (type `analytics`) of a district, computed
from our store: the district's full-detail files of the program year up to that date (each
club's trends), and the date's own figures.

Where DOMAIN.md defines a figure it is ours (club status, distinguished level, totals); where it
is silent analytics-core's rules apply (division and area scores, top growth clubs, the
distinguished projection, the membership changes). README, *Publishing to the
district-statistics site*, lists where we differ and what stays empty."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from districts.dashboard.statistics import ClubDetail, DistrictStatistics
from districts.dashboard.urls import program_year_of
from districts.dashboard.values import club_key
from districts.ids import site_district_id
from snapshots import store
from website.tree import club_trends
from website.tree.club_trends import INTERVENTION, THRIVING, VULNERABLE

log = logging.getLogger(__name__)

DISTRICT_ANALYTICS = "analytics"
TOP_AREAS = 10
_STATUS = {"Smedley": "smedley", "President": "president", "Select": "select"}
_STATUS_ORDER = {"smedley": 4, "president": 3, "select": 2, "distinguished": 1}


def _n(value: int | None) -> int:
    return 0 if value is None else value


def round_half_up(value: float, places: int = 2) -> float:
    """JavaScript's `Math.round(x * 10^p) / 10^p`, which analytics-core rounds with."""
    factor = 10**places
    return math.floor(value * factor + 0.5) / factor


@dataclass(frozen=True)
class DayFigures:
    """What a district's analytics read of one date of its program year: its membership, its
    payments and each club's (key, members, goals met). A year of these is small; a year of
    the files themselves is hundreds of MB."""

    logical_date: date
    membership: int
    payments: int
    clubs: tuple[tuple[str, int, int], ...]

    @classmethod
    def of(cls, stats: DistrictStatistics) -> DayFigures:
        return cls(
            logical_date=stats.logical_date,
            membership=max(0, _n(stats.membership.active_members)),
            payments=max(0, _n(stats.payments.total_ytd)),
            clubs=tuple(
                (club_key(c.club_number), club_trends.members(c), club_trends.goals(c))
                for c in stats.club_details
            ),
        )


@dataclass(frozen=True)
class YearSeries:
    """A district's program year up to a date: each date's figures (oldest first, the date
    last) and that date's full statistics."""

    days: tuple[DayFigures, ...]
    latest: DistrictStatistics


def program_year_series(day: date, district_id: str, days: Sequence[date]) -> YearSeries | None:
    """The district's full-detail dates of the stored `days` in `day`'s program year up to
    `day`, read one at a time; None when `day` itself has none. An unreadable file is left out
    of the trends (and logged)."""
    year = program_year_of(day)
    figures, latest = [], None
    for other in sorted(d for d in days if d <= day and program_year_of(d) == year):
        try:
            stats = store.read_district(logical_date=other, district_id=district_id)
        except store.SnapshotStoreError as exc:
            log.error("analytics of district %s: %s unreadable: %s", district_id, other, exc)
            continue
        if stats is not None and stats.detail == "full":
            figures.append(DayFigures.of(stats))
            latest = stats
    if latest is None or latest.logical_date != day:
        return None
    return YearSeries(days=tuple(figures), latest=latest)


def _division_health(club: ClubDetail) -> float:
    """analytics-core's division/area health of a club: 0 under 12 members, 0.5 without a
    goal, else 1."""
    if _n(club.active_members) < 12:
        return 0.0
    return 0.5 if not club.goals_met else 1.0


def _groups(clubs: Sequence[ClubDetail], key) -> dict[Any, list[ClubDetail]]:
    groups: dict[Any, list[ClubDetail]] = {}
    for club in clubs:
        groups.setdefault(key(club), []).append(club)
    return groups


def division_rankings(clubs: Sequence[ClubDetail]) -> list[dict[str, Any]]:
    """analytics-core's division ranking: score = the division's goals met + 10 x its average
    club health (rounded to 2 decimals), highest first, ranked 1..n in that order (equal scores
    by division id)."""
    rows = []
    for division, members in _groups(clubs, lambda c: c.division).items():
        average = sum(_division_health(c) for c in members) / len(members)
        goals = sum(club_trends.goals(c) for c in members)
        rows.append(
            {
                "divisionId": division,
                "divisionName": f"Division {division}",
                "rank": 0,
                "score": round_half_up(goals + average * 10),
                "clubCount": len(members),
                "membershipTotal": sum(club_trends.members(c) for c in members),
            }
        )
    rows.sort(key=lambda r: (-r["score"], r["divisionId"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return rows


def top_areas(clubs: Sequence[ClubDetail]) -> list[dict[str, Any]]:
    """analytics-core's top areas: score = half the average club health + half the average
    goals per club over 10 (at most 1), rounded to 2 decimals; the best TOP_AREAS (equal
    scores by division, then area)."""
    rows = []
    for (division, area), members in _groups(clubs, lambda c: (c.division, c.area)).items():
        average = sum(_division_health(c) for c in members) / len(members)
        goals = min(sum(club_trends.goals(c) for c in members) / len(members) / 10, 1)
        rows.append(
            {
                "areaId": area,
                "areaName": f"Area {area}",
                "divisionId": division,
                "score": round_half_up(average * 0.5 + goals * 0.5),
                "clubCount": len(members),
                "membershipTotal": sum(club_trends.members(c) for c in members),
            }
        )
    rows.sort(key=lambda r: (-r["score"], r["divisionId"], r["areaId"]))
    return rows[:TOP_AREAS]


def _distinguished(clubs: Sequence[dict[str, Any]]) -> tuple[dict[str, int], list[dict]]:
    """The counts by published level and the distinguished clubs, highest level first, then
    most goals (then club id)."""
    by_level = {level: 0 for level in club_trends.LEVELS.values()}
    listed = []
    for club in clubs:
        level = club["distinguishedLevel"]
        if level == club_trends.NOT_DISTINGUISHED:
            continue
        by_level[level] += 1
        goals = club["dcpGoalsTrend"][-1]["goalsAchieved"]
        listed.append(
            {
                "clubId": club["clubId"],
                "clubName": club["clubName"],
                "status": _STATUS.get(level, "distinguished"),
                "dcpPoints": goals,
                "goalsCompleted": goals,
            }
        )
    listed.sort(key=lambda c: (-_STATUS_ORDER[c["status"]], -c["goalsCompleted"], c["clubId"]))
    counts = {
        "smedley": by_level["Smedley"],
        "presidents": by_level["President"],
        "select": by_level["Select"],
        "distinguished": by_level["Distinguished"],
    }
    counts["total"] = sum(counts.values())
    return counts, listed


def _membership_change(latest: DistrictStatistics) -> int:
    """analytics-core's `membershipChange`: total payments minus the payment base; without a
    base, the clubs' payments minus their membership bases."""
    payments = latest.payments
    if payments.base is not None and payments.total_ytd is not None:
        return payments.total_ytd - payments.base
    clubs = latest.club_details
    return sum(_n(c.total_payments) for c in clubs) - sum(_n(c.membership_base) for c in clubs)


def district_analytics_data(series: YearSeries) -> dict[str, Any]:
    """`data` of the district's analytics file from its program-year `series`."""
    latest, first = series.latest, series.days[0]
    clubs = club_trends.club_trends(series.days, latest)
    counts, listed = _distinguished(clubs)
    by_status = {
        status: [c for c in clubs if c["currentStatus"] == status]
        for status in (THRIVING, VULNERABLE, INTERVENTION)
    }
    day = latest.logical_date.isoformat()
    return {
        "districtId": site_district_id(latest.district_id),
        "dateRange": {"start": first.logical_date.isoformat(), "end": day},
        "totalMembership": series.days[-1].membership,
        "membershipChange": _membership_change(latest),
        "memberCountChange": series.days[-1].membership - first.membership,
        "membershipTrend": [
            {"date": d.logical_date.isoformat(), "count": d.membership} for d in series.days
        ],
        "paymentsTrend": [
            {"date": d.logical_date.isoformat(), "payments": d.payments} for d in series.days
        ],
        "allClubs": clubs,
        "vulnerableClubs": by_status[VULNERABLE],
        "thrivingClubs": by_status[THRIVING],
        "interventionRequiredClubs": by_status[INTERVENTION],
        "distinguishedClubs": counts,
        "distinguishedClubsList": listed,
        "distinguishedProjection": {
            "projectedDistinguished": len(by_status[THRIVING]),
            "currentDistinguished": counts["distinguished"],
            "currentSelect": counts["select"],
            "currentPresident": counts["presidents"],
            "projectionDate": day,
        },
        "divisionRankings": division_rankings(latest.club_details),
        "topPerformingAreas": top_areas(latest.club_details),
        "topGrowthClubs": club_trends.top_growth(clubs),
        "prospectiveClubs": [],
    }
