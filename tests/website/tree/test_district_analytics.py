"""`website.tree.district_analytics` on a stored program year: the newest date's
`district_{id}_analytics.json` lists exactly the district's clubs, its health lists count the
time series' `clubCounts`, each club's trends are its stored rows of the program year's dates,
divisions are ranked on analytics-core's score, the manifest lists the file, and the model
refuses what the site cannot read."""

from __future__ import annotations

import json
from datetime import date

import pytest

from districts.dashboard.statistics import ClubDetail
from districts.dashboard.values import club_key
from snapshots import store
from tests.website.stored import store_day
from website.format import SiteFormatError, checked
from website.format.district_analytics import DistrictAnalyticsFile
from website.tree.analytics import analytics_files
from website.tree.club_trends import health, top_growth
from website.tree.district import data_point
from website.tree.district_analytics import (
    district_analytics_data,
    program_year_series,
    round_half_up,
    top_areas,
)
from website.tree.facts import date_facts

pytestmark = pytest.mark.django_db

PREVIOUS_YEAR = date(2024, 6, 20)
DAYS = (date(2024, 9, 20), date(2025, 2, 20), date(2025, 3, 11))
NEWEST = DAYS[-1]


@pytest.fixture
def stored(snapshot_root):
    store_day(PREVIOUS_YEAR, ["42"])
    for day in DAYS:
        store_day(day, ["42", "61"], summary=day == NEWEST)
    return snapshot_root


def _files(day=NEWEST):
    return {f.path.rsplit("/", 1)[1]: f for f in analytics_files(date_facts(day))}


def _data(district_id="42"):
    content = json.loads(_files()[f"district_{district_id}_analytics.json"].data)
    DistrictAnalyticsFile.model_validate(content)
    return content["data"]


def test_the_file_validates_and_the_manifest_lists_it_with_the_targets(stored):
    files = _files()
    manifest = json.loads(files["manifest.json"].data)
    assert [(e["filename"], e["type"]) for e in manifest["files"]] == [
        ("district_42_analytics.json", "analytics"),
        ("district_42_performance-targets.json", "performance-targets"),
        ("district_61_analytics.json", "analytics"),
        ("district_61_performance-targets.json", "performance-targets"),
    ]
    for entry in manifest["files"]:
        assert entry["size"] == len(files[entry["filename"]].data)
    content = json.loads(files["district_61_analytics.json"].data)
    assert content["metadata"]["snapshotDate"] == NEWEST.isoformat()
    assert content["data"]["districtId"] == "61"


def test_every_club_of_the_date_and_health_lists_counting_the_time_series(stored):
    data = _data()
    stats = store.read_district(logical_date=NEWEST, district_id="42")
    assert [c["clubId"] for c in data["allClubs"]] == [
        club_key(c.club_number) for c in stats.club_details
    ]
    counts = data_point(stats)["clubCounts"]
    assert counts["total"] == len(data["allClubs"]) > 0
    assert counts["thriving"] == len(data["thrivingClubs"])
    assert counts["vulnerable"] == len(data["vulnerableClubs"])
    assert counts["interventionRequired"] == len(data["interventionRequiredClubs"])
    for name, status in (
        ("thrivingClubs", "thriving"),
        ("vulnerableClubs", "vulnerable"),
        ("interventionRequiredClubs", "intervention-required"),
    ):
        assert all(c["currentStatus"] == status for c in data[name])
        assert all((c["riskFactors"] == []) == (status == "thriving") for c in data[name])
    assert data["distinguishedProjection"]["projectedDistinguished"] == counts["thriving"]


def test_club_trends_are_the_stored_rows_of_the_program_years_dates(stored):
    data = _data()
    rows = {
        day.isoformat(): {
            club_key(c.club_number): c
            for c in store.read_district(logical_date=day, district_id="42").club_details
        }
        for day in DAYS
    }
    assert data["dateRange"] == {"start": DAYS[0].isoformat(), "end": NEWEST.isoformat()}
    assert [p["date"] for p in data["membershipTrend"]] == [d.isoformat() for d in DAYS]
    changed = 0
    for club in data["allClubs"]:
        listed = [day for day, clubs in rows.items() if club["clubId"] in clubs]
        assert [p["date"] for p in club["membershipTrend"]] == listed
        for point, goals in zip(club["membershipTrend"], club["dcpGoalsTrend"], strict=True):
            row = rows[point["date"]][club["clubId"]]
            assert point["count"] == row.active_members
            assert goals == {"date": point["date"], "goalsAchieved": row.goals_met}
        changed += len({p["count"] for p in club["membershipTrend"]}) > 1
    assert changed, "the stored dates should move some club's membership"
    assert data["topGrowthClubs"], "some club grew since September"
    for grown in data["topGrowthClubs"]:
        club = next(c for c in data["allClubs"] if c["clubId"] == grown["clubId"])
        trend = club["membershipTrend"]
        assert grown["growth"] == trend[-1]["count"] - trend[0]["count"] > 0


def test_district_figures_are_ours(stored):
    data = _data()
    stats = store.read_district(logical_date=NEWEST, district_id="42")
    first = store.read_district(logical_date=DAYS[0], district_id="42")
    assert data["totalMembership"] == stats.membership.active_members
    assert data["memberCountChange"] == (
        stats.membership.active_members - first.membership.active_members
    )
    if stats.payments.base is not None:
        assert data["membershipChange"] == stats.payments.total_ytd - stats.payments.base
    assert data["distinguishedClubs"] == {
        "smedley": stats.clubs.smedley_distinguished or 0,
        "presidents": stats.clubs.presidents_distinguished,
        "select": stats.clubs.select_distinguished,
        "distinguished": stats.clubs.distinguished,
        "total": stats.clubs.total_distinguished,
    }
    assert len(data["distinguishedClubsList"]) == stats.clubs.total_distinguished > 0
    assert data["prospectiveClubs"] == []


def test_divisions_are_ranked_on_goals_and_average_health(stored):
    data = _data()
    stats = store.read_district(logical_date=NEWEST, district_id="42")
    rankings = data["divisionRankings"]
    assert [r["rank"] for r in rankings] == list(range(1, len(rankings) + 1))
    assert [r["score"] for r in rankings] == sorted((r["score"] for r in rankings), reverse=True)
    assert {r["divisionId"] for r in rankings} == {c.division for c in stats.club_details}
    for row in rankings:
        clubs = [c for c in stats.club_details if c.division == row["divisionId"]]
        health_sum = sum(0 if c.active_members < 12 else (1 if c.goals_met else 0.5) for c in clubs)
        expected = sum(c.goals_met for c in clubs) + health_sum / len(clubs) * 10
        assert row["score"] == pytest.approx(expected, abs=0.005)
        assert row["clubCount"] == len(clubs)
        assert row["membershipTotal"] == sum(c.active_members for c in clubs)
    assert sum(r["clubCount"] for r in rankings) == len(stats.club_details)


def test_only_the_program_years_dates_make_the_trends(stored):
    days = store.stored_dates()
    assert PREVIOUS_YEAR in days
    series = program_year_series(NEWEST, "42", days)
    assert [d.logical_date for d in series.days] == list(DAYS)
    assert series.latest == store.read_district(logical_date=NEWEST, district_id="42")
    # A date whose district has no file has no analytics file for it.
    assert program_year_series(PREVIOUS_YEAR, "61", days) is None
    data = district_analytics_data(program_year_series(PREVIOUS_YEAR, "42", days))
    assert data["dateRange"] == {"start": "2024-06-20", "end": "2024-06-20"}
    assert data["memberCountChange"] == 0 and data["topGrowthClubs"] == []


def _club(number, members, base, goals, *, division="A", area="01"):
    return ClubDetail(
        club_number=number,
        name=f"Club {number}",
        division=division,
        area=area,
        active_members=members,
        membership_base=base,
        goals_met=goals,
    )


@pytest.mark.parametrize(
    ("members", "base", "goals", "status", "reasons"),
    [
        (11, 10, 5, "intervention-required", 2),
        (11, 8, 0, "vulnerable", 1),  # grew by 3: no intervention, but no goal
        (20, 25, 1, "thriving", 0),
        (19, 18, 4, "vulnerable", 1),
        (12, 12, 0, "vulnerable", 2),
        (None, None, None, "intervention-required", 2),
    ],
)
def test_the_health_rule_and_its_reasons(members, base, goals, status, reasons):
    got, why = health(_club("1", members, base, goals))
    assert (got, len(why)) == (status, reasons)


def test_top_areas_and_growth_are_bounded_ordered_and_rounded():
    clubs = [_club(str(n), 20, 18, n % 4, area=f"{n:02d}") for n in range(1, 13)]
    areas = top_areas(clubs)
    assert len(areas) == 10
    assert [a["score"] for a in areas] == sorted((a["score"] for a in areas), reverse=True)
    assert areas[0]["score"] == round_half_up(0.5 + 0.3 * 0.5)
    assert round_half_up(0.125) == 0.13
    trend = [{"date": "2025-03-10", "count": 10}, {"date": "2025-03-11", "count": 12}]
    grown = top_growth(
        [
            {"clubId": "2", "clubName": "B", "membershipTrend": trend},
            {"clubId": "1", "clubName": "A", "membershipTrend": trend},
            {"clubId": "3", "clubName": "C", "membershipTrend": trend[:1]},
        ]
    )
    assert [(c["clubId"], c["growth"]) for c in grown] == [("1", 2), ("2", 2)]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("allClubs", 0, "currentStatus"), "healthy"),
        (("allClubs", 0, "distinguishedLevel"), "D"),
        (("allClubs", 0, "membershipTrend", 0, "count"), -1),
        (("divisionRankings", 0, "rank"), 0),
        (("prospectiveClubs",), [{"clubId": "1"}]),
        (("topGrowthClubs",), [{"clubId": "1", "clubName": "A", "growth": 0}]),
    ],
)
def test_the_model_refuses_what_the_site_cannot_read(stored, path, value):
    content = json.loads(_files()["district_42_analytics.json"].data)
    target = content["data"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(SiteFormatError, match=str(path[0])):
        checked(DistrictAnalyticsFile, content, path="district_42_analytics.json")
