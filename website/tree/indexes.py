"""The files over every published date: each district's time series by program year, the
`v1/` indexes and the `config/` indexes. `v1/latest.json` comes last of all, so that the site
never points at a date whose files are not all written."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from districts.dashboard.urls import program_year_of
from districts.ids import district_sort_key, site_district_id
from website.format.indexes import (
    ClubIndexFile,
    DatesFile,
    DistrictSnapshotIndexFile,
    LatestFile,
    RankHistoryFile,
    RankingsFile,
)
from website.format.timeseries import IndexMetadataFile, ProgramYearFile
from website.tree.analytics import analytics_files
from website.tree.district import district_name
from website.tree.encoding import SiteFile, site_file, stamp
from website.tree.facts import DateFacts

LATEST_FILE = "v1/latest.json"


def _summary(points: list[dict[str, Any]]) -> dict[str, int]:
    members = [p["membership"] for p in points]
    return {
        "totalDataPoints": len(points),
        "membershipStart": members[0] if members else 0,
        "membershipEnd": members[-1] if members else 0,
        "membershipPeak": max(members, default=0),
        "membershipLow": min(members, default=0),
    }


def _time_series(published: Sequence[DateFacts]) -> list[SiteFile]:
    by_district: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for facts in published:  # oldest first, so every year's points are in date order
        year = program_year_of(facts.day)
        for district_id, point in facts.points.items():
            by_district.setdefault(district_id, {}).setdefault(year, []).append(point)
    files = []
    for district_id in sorted(by_district, key=district_sort_key):
        years = by_district[district_id]
        site_id = site_district_id(district_id)
        directory = f"time-series/district_{site_id}"
        for year in sorted(years):
            points = years[year]
            start = int(year[:4])
            payload = {
                "districtId": site_id,
                "programYear": year,
                "startDate": f"{start}-07-01",
                "endDate": f"{start + 1}-06-30",
                "lastUpdated": stamp(date.fromisoformat(points[-1]["date"])),
                "dataPoints": points,
                "summary": _summary(points),
            }
            files.append(site_file(f"{directory}/{year}.json", ProgramYearFile, payload))
        last = max(date.fromisoformat(p[-1]["date"]) for p in years.values())
        metadata = {
            "districtId": site_id,
            "lastUpdated": stamp(last),
            "availableProgramYears": sorted(years),
            "totalDataPoints": sum(len(p) for p in years.values()),
        }
        files.append(site_file(f"{directory}/index-metadata.json", IndexMetadataFile, metadata))
    return files


def _rank_history(ranked: Sequence[DateFacts]) -> list[SiteFile]:
    history: dict[str, list[dict[str, Any]]] = {}
    for facts in ranked:
        total = len(facts.rankings or ())
        for row in facts.rankings or ():
            history.setdefault(row["districtId"], []).append(
                {
                    "date": facts.day.isoformat(),
                    "aggregateScore": row["aggregateScore"],
                    "clubsRank": row["clubsRank"],
                    "paymentsRank": row["paymentsRank"],
                    "distinguishedRank": row["distinguishedRank"],
                    "totalDistricts": total,
                    "overallRank": row["overallRank"],
                }
            )
    return [
        site_file(
            f"v1/rank-history/{district_id}.json",
            RankHistoryFile,
            {
                "districtId": district_id,
                "districtName": district_name(district_id),
                "history": history[district_id],
            },
        )
        for district_id in sorted(history, key=district_sort_key)
    ]


def _club_order(item: tuple[str, tuple[str, str]]) -> tuple[int, str]:
    return int(item[0]), item[0]


def _config(published: Sequence[DateFacts], generated: str) -> list[SiteFile]:
    districts: dict[str, list[str]] = {}
    clubs: dict[str, tuple[str, str]] = {}
    for facts in published:  # oldest first: a club's latest district wins
        for district_id in facts.district_ids:
            districts.setdefault(district_id, []).append(facts.day.isoformat())
        clubs.update(facts.clubs)
    snapshot_index = {
        "generatedAt": generated,
        "districts": {
            site_district_id(d): districts[d] for d in sorted(districts, key=district_sort_key)
        },
    }
    club_index = {
        "generatedAt": generated,
        "snapshotDate": published[-1].day.isoformat(),
        "totalClubs": len(clubs),
        "clubs": {
            number: {"districtId": site_district_id(district_id), "clubName": name}
            for number, (district_id, name) in sorted(clubs.items(), key=_club_order)
        },
    }
    return [
        site_file("config/district-snapshot-index.json", DistrictSnapshotIndexFile, snapshot_index),
        site_file("config/club-index.json", ClubIndexFile, club_index),
    ]


def index_files(facts: Sequence[DateFacts]) -> Iterator[SiteFile]:
    """Every index over the published dates among `facts` (any order) and the newest date's
    analytics files, `v1/latest.json` last, one after another; none when no date is
    published."""
    published = sorted((f for f in facts if f.published), key=lambda f: f.day)
    if not published:
        return
    newest = published[-1].day
    generated = stamp(newest)
    ranked = [f for f in published if f.rankings is not None]
    files = [*_time_series(published), *_rank_history(ranked)]
    if ranked:
        latest_ranked = ranked[-1]
        # the site's pipeline: the rankings' `sourceCsvDate`, the summary's as-of day
        as_of = latest_ranked.rankings_as_of or latest_ranked.day
        rankings = {
            "rankings": list(latest_ranked.rankings or ()),
            "date": as_of.isoformat(),
            "generatedAt": stamp(as_of),
        }
        files.append(site_file("v1/rankings.json", RankingsFile, rankings))
    files.extend(_config(published, generated))
    yield from files
    # Built one district at a time as they are written: a year's are hundreds of MB.
    yield from analytics_files(published[-1])
    dates = [f.day.isoformat() for f in published]
    yield site_file(
        "v1/dates.json",
        DatesFile,
        {"dates": dates, "count": len(dates), "generatedAt": generated},
    )
    latest = {"latestSnapshotDate": newest.isoformat(), "generatedAt": generated}
    yield site_file(LATEST_FILE, LatestFile, latest)
