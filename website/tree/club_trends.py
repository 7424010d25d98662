"""Each club of a district's newest date as the site's `ClubTrend`: its figures, its health,
its trends over the program year's stored dates and its distinguished level.

Health is the time series' rule (`website.tree.district`, analytics-core's rule as its
time-series builder applies it), so the analytics' health lists count exactly the
`clubCounts` of the same date. The health score is analytics-core's
(`ClubHealthAnalyticsModule.calculateClubHealthScore`); the distinguished level is the club's
published `Club Distinguished Status`, as every other figure of ours."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from districts.dashboard.statistics import ClubDetail, DistrictStatistics
from districts.dashboard.values import club_key
from website.tree.district import GROWTH_THRESHOLD, INTERVENTION_MEMBERS, THRIVING_MEMBERS

THRIVING = "thriving"
VULNERABLE = "vulnerable"
INTERVENTION = "intervention-required"
# The published level letter -> the site's distinguished level.
LEVELS = {"M": "Smedley", "P": "President", "S": "Select", "D": "Distinguished"}
NOT_DISTINGUISHED = "NotDistinguished"


def _n(value: int | None) -> int:
    return 0 if value is None else value


def members(club: ClubDetail) -> int:
    return max(0, _n(club.active_members))


def goals(club: ClubDetail) -> int:
    return max(0, _n(club.goals_met))


def growth(club: ClubDetail) -> int:
    """Net growth since July: active members minus the membership base (0 when missing)."""
    return _n(club.active_members) - _n(club.membership_base)


def health(club: ClubDetail) -> tuple[str, list[str]]:
    """The club's status and, unless thriving, why (analytics-core's wording where the rule is
    the same)."""
    count, net = _n(club.active_members), growth(club)
    if count < INTERVENTION_MEMBERS and net < GROWTH_THRESHOLD:
        return INTERVENTION, [
            f"Membership below {INTERVENTION_MEMBERS} (critical)",
            f"Net growth since July: {net} (need {GROWTH_THRESHOLD}+ to override)",
        ]
    membership_met = count >= THRIVING_MEMBERS or net >= GROWTH_THRESHOLD
    goals_met = bool(club.goals_met)
    if membership_met and goals_met:
        return THRIVING, []
    reasons = []
    if not membership_met:
        reasons.append(
            f"Membership below threshold ({count} members, need {THRIVING_MEMBERS}+ "
            f"or net growth {GROWTH_THRESHOLD}+)"
        )
    if not goals_met:
        reasons.append("DCP checkpoint not met: 0 goals achieved, 1 required")
    return VULNERABLE, reasons


def health_score(club: ClubDetail) -> float:
    """analytics-core's club health score: 1 with 20 members and 5 goals, 0.5 with 12 members
    or 3 goals, else 0."""
    count, met = _n(club.active_members), _n(club.goals_met)
    if count >= 20 and met >= 5:
        return 1.0
    if count >= 12 or met >= 3:
        return 0.5
    return 0.0


def level(club: ClubDetail) -> str:
    return LEVELS.get(club.distinguished_level, NOT_DISTINGUISHED)


def _trends(days: Sequence[Any]) -> dict[str, tuple[list, list]]:
    """Club key -> (membership points, goals points) over `days` (the district's `DayFigures`,
    oldest first), a point for each date the club is listed on."""
    trends: dict[str, tuple[list, list]] = {}
    for figures in days:
        day = figures.logical_date.isoformat()
        for key, count, met in figures.clubs:
            points = trends.setdefault(key, ([], []))
            points[0].append({"date": day, "count": count})
            points[1].append({"date": day, "goalsAchieved": met})
    return trends


def club_trend(club: ClubDetail, points: tuple[list, list]) -> dict[str, Any]:
    status, reasons = health(club)
    trend: dict[str, Any] = {
        "clubId": club_key(club.club_number),
        "clubName": club.name,
        "divisionId": club.division,
        "divisionName": f"Division {club.division}",
        "areaId": club.area,
        "areaName": f"Area {club.area}",
        "currentStatus": status,
        "healthScore": health_score(club),
        "membershipCount": _n(club.active_members),
        "paymentsCount": _n(club.total_payments),
        "membershipTrend": points[0],
        "dcpGoalsTrend": points[1],
        "riskFactors": reasons,
        "distinguishedLevel": level(club),
        "membershipBase": _n(club.membership_base),
        "octoberRenewals": _n(club.october_payments),
        "aprilRenewals": _n(club.april_payments),
        "newMembers": _n(club.new_members),
    }
    if club.status:
        trend["clubStatus"] = club.status
    if club.charter_date is not None:
        trend["charterDate"] = club.charter_date.isoformat()
    return trend


def club_trends(days: Sequence[Any], latest: DistrictStatistics) -> list[dict[str, Any]]:
    """Every club of the newest date (`latest`, the last of `days`), in its published order."""
    trends = _trends(days)
    return [club_trend(c, trends[club_key(c.club_number)]) for c in latest.club_details]


def top_growth(clubs: Sequence[dict[str, Any]], limit: int = 10) -> list[dict[str, Any]]:
    """analytics-core's top growth clubs: growth = last minus first point of the membership
    trend (two points at least), positive only, largest first (ties by club id), `limit` of
    them."""
    grown = []
    for club in clubs:
        trend = club["membershipTrend"]
        if len(trend) >= 2 and trend[-1]["count"] > trend[0]["count"]:
            grown.append(
                {
                    "clubId": club["clubId"],
                    "clubName": club["clubName"],
                    "growth": trend[-1]["count"] - trend[0]["count"],
                }
            )
    grown.sort(key=lambda c: (-c["growth"], c["clubId"]))
    return grown[:limit]
