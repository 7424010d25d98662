"""A full-detail district file of our store as the site's district file and as a point of its
time series. Figures the source left empty are published as 0 (the site's fields are plain
numbers and it reads a missing figure as 0 itself); see README, *Publishing to the
district-statistics site*."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from districts.dashboard.statistics import ClubDetail, DistrictStatistics
from districts.dashboard.values import club_key
from districts.ids import site_district_id
from website.tree.encoding import stamp

# Club health (the site's time series `clubCounts`, analytics-core's rule): a club under 12
# members that grew by fewer than 3 needs intervention; one with 20 members or a growth of 3,
# and at least one goal met, is thriving; any other club is vulnerable.
INTERVENTION_MEMBERS = 12
THRIVING_MEMBERS = 20
GROWTH_THRESHOLD = 3


def _n(value: int | float | None) -> int | float:
    return 0 if value is None else value


def district_name(district_id: str) -> str:
    """The dashboard publishes no names: the site says "District 42" ("District 02")."""
    return f"District {site_district_id(district_id)}"


def _club(club: ClubDetail) -> dict[str, Any]:
    payload: dict[str, Any] = {
        # Canonical, as the site writes it since its #1440 (the raw rows keep `00000396`).
        "clubId": club_key(club.club_number),
        "clubName": club.name,
        "divisionId": club.division,
        "areaId": club.area,
        "membershipCount": _n(club.active_members),
        "paymentsCount": _n(club.total_payments),
        "dcpGoals": _n(club.goals_met),
        "status": club.status or "",
        "divisionName": f"Division {club.division}",
        "areaName": f"Area {club.area}",
        "octoberRenewals": _n(club.october_payments),
        "aprilRenewals": _n(club.april_payments),
        "newMembers": _n(club.new_members),
        "membershipBase": _n(club.membership_base),
    }
    if club.charter_date is not None:
        payload["charterDate"] = club.charter_date.isoformat()
    if club.status:
        payload["clubStatus"] = club.status
    return payload


def _sums(clubs: Iterable[ClubDetail]) -> tuple[int, int, int]:
    members = payments = count = 0
    for club in clubs:
        count += 1
        members += club.active_members or 0
        payments += club.total_payments or 0
    return count, members, payments


def _divisions_and_areas(stats: DistrictStatistics) -> tuple[list[dict], list[dict]]:
    by_division: dict[str, list[ClubDetail]] = {}
    by_area: dict[tuple[str, str], list[ClubDetail]] = {}
    for club in stats.club_details:
        by_division.setdefault(club.division, []).append(club)
        by_area.setdefault((club.division, club.area), []).append(club)
    divisions = []
    for division in sorted(by_division):
        count, members, payments = _sums(by_division[division])
        divisions.append(
            {
                "divisionId": division,
                "divisionName": f"Division {division}",
                "clubCount": count,
                "membershipTotal": members,
                "paymentsTotal": payments,
            }
        )
    areas = []
    for division, area in sorted(by_area):
        count, members, payments = _sums(by_area[(division, area)])
        areas.append(
            {
                "areaId": area,
                "areaName": f"Area {area}",
                "divisionId": division,
                "clubCount": count,
                "membershipTotal": members,
                "paymentsTotal": payments,
            }
        )
    return divisions, areas


def district_payload(stats: DistrictStatistics, raw: dict[str, list]) -> dict[str, Any]:
    """The site's district file of a full-detail district file and its raw rows."""
    divisions, areas = _divisions_and_areas(stats)
    clubs = stats.clubs
    data = {
        "districtId": site_district_id(stats.district_id),
        "snapshotDate": stats.logical_date.isoformat(),
        "clubs": [_club(c) for c in stats.club_details],
        "divisions": divisions,
        "areas": areas,
        "totals": {
            "totalClubs": len(stats.club_details),
            "totalMembership": _n(stats.membership.active_members),
            "totalPayments": _n(stats.payments.total_ytd),
            "distinguishedClubs": _n(clubs.total_distinguished),
            "selectDistinguishedClubs": _n(clubs.select_distinguished),
            "presidentDistinguishedClubs": _n(clubs.presidents_distinguished),
        },
        "divisionPerformance": raw["divisionPerformance"],
        "clubPerformance": raw["clubPerformance"],
        "districtPerformance": raw["districtPerformance"],
    }
    return {
        "districtId": site_district_id(stats.district_id),
        "districtName": district_name(stats.district_id),
        "collectedAt": stamp(stats.as_of_date),
        "status": "success",
        "data": data,
    }


def club_health(clubs: Iterable[ClubDetail]) -> dict[str, int]:
    """The site's `clubCounts` of a date: every club by the health rule above."""
    counts = {"total": 0, "thriving": 0, "vulnerable": 0, "interventionRequired": 0}
    for club in clubs:
        members = club.active_members or 0
        growth = members - (club.membership_base or 0)
        counts["total"] += 1
        if members < INTERVENTION_MEMBERS and growth < GROWTH_THRESHOLD:
            counts["interventionRequired"] += 1
        elif (members >= THRIVING_MEMBERS or growth >= GROWTH_THRESHOLD) and (club.goals_met or 0):
            counts["thriving"] += 1
        else:
            counts["vulnerable"] += 1
    return counts


def data_point(stats: DistrictStatistics) -> dict[str, Any]:
    """The district's time-series point of this date (figures as our store holds them)."""
    return {
        "date": stats.logical_date.isoformat(),
        "snapshotId": stats.logical_date.isoformat(),
        "membership": max(0, _n(stats.membership.active_members)),
        "payments": max(0, _n(stats.payments.total_ytd)),
        "dcpGoals": sum(max(0, c.goals_met or 0) for c in stats.club_details),
        "distinguishedTotal": max(0, _n(stats.clubs.total_distinguished)),
        "clubCounts": club_health(stats.club_details),
    }
