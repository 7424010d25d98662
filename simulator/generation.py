"""Deterministic districts, clubs and their statistics over a program year.

Everything is derived from `random.Random` instances seeded with a SHA-256 of a descriptive
string (never Python's salted `hash()`), so the same (seed, program year, district, as-of date)
always gives the same numbers, in any process. Club figures are cumulative functions of the day
of the program year, so payments and awards only grow within a year, and every total the site
publishes twice (summary and per-district reports) is computed from the same club states.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache

from districts.dashboard.reports import ReportType

from .clubs import (
    REALIGNMENT_YEAR,
    SUSPENDED,
    ClubState,
    YearDays,
    club_roster,
    club_states,
    stable_random,
)

FIRST_PROGRAM_YEAR = 2008

# The 2026-07-01 realignment (DOMAIN.md section 6): some old ids survive, 201-231 (not 204) appear.
_DISSOLVED_AT_REALIGNMENT = frozenset({1, 4, 5, 7, 8, 9, *range(10, 17), 18, 19, 22, 23, 24, 32})
_ALWAYS_SURVIVING = (21, 44, 61, 70)
_SURVIVING_COUNT = 62
_NEW_SERIES = tuple(n for n in range(201, 232) if n != 204)
_ENDED_AFTER_2024_25 = frozenset({9, 23, 32})


def summary_district_id(district_id: str) -> str:
    """The summary's form: numbers zero-padded to two digits (`"02"`), letters as they are."""
    return district_id.zfill(2) if district_id.isdigit() else district_id


@lru_cache(maxsize=64)
def district_ids(program_year_start: int) -> tuple[str, ...]:
    """The district ids of a program year, bare (`"2"`, `"128"`, `"F"`, `"U"`).

    About 120 ids before the realignment, 94 from 2026-2027 on; none before 2008-2009.
    """
    if program_year_start < FIRST_PROGRAM_YEAR:
        return ()
    if program_year_start >= REALIGNMENT_YEAR:
        candidates = sorted(
            (
                n
                for n in range(2, 129)
                if n not in _DISSOLVED_AT_REALIGNMENT and n not in _ALWAYS_SURVIVING
            ),
            key=lambda n: hashlib.sha256(f"survivor:{n}".encode()).hexdigest(),
        )
        survivors = [*_ALWAYS_SURVIVING, *candidates[: _SURVIVING_COUNT - len(_ALWAYS_SURVIVING)]]
        numbers = sorted([*survivors, *_NEW_SERIES])
    else:
        top = 118 if program_year_start <= 2022 else 124 if program_year_start == 2023 else 128
        numbers = [
            n
            for n in range(1, top + 1)
            if not (n == 101 and program_year_start < 2016)
            and not (n in _ENDED_AFTER_2024_25 and program_year_start >= 2025)
        ]
    return (*(str(n) for n in numbers), "F", "U")


def district_region(program_year_start: int, district_id: str) -> str:
    """The `REGION` cell: `"01"`..`"14"`; district U was `DNAR` in older data."""
    if district_id == "U":
        return "DNAR" if program_year_start < 2020 else "14"
    if district_id == "F":
        return "02"
    era = "realigned" if program_year_start >= REALIGNMENT_YEAR else "classic"
    return f"{stable_random('region', era, district_id).randint(1, 14):02d}"


# --- Rows per report ------------------------------------------------------------------------
def _club_fields(district_id: str, state: ClubState) -> dict[str, int | str]:
    """Every per-club canonical field of the three per-district reports."""
    club = state.club
    l1, l2, l3, l4, l5 = state.levels
    ccs, acs, leaders = state.legacy_awards
    return {
        "district": district_id,
        "division": club.division,
        "area": club.area,
        "club_number": club.number,
        "club_name": club.name,
        "club_status": state.status,
        "csp": "Y" if club.csp else "N",
        "membership_base": club.base,
        "active_members": state.active_members,
        "net_growth": state.active_members - club.base,
        "goals_met": state.goals_met,
        "ccs": min(ccs, 2),
        "add_ccs": max(ccs - 2, 0),
        "acs": min(acs, 1),
        "add_acs": max(acs - 1, 0),
        "cl_al_dtms": min(leaders, 1),
        "add_cl_al_dtms": max(leaders - 1, 0),
        "level_1s": l1,
        "level_2s": min(l2, 2),
        "add_level_2s": max(l2 - 2, 0),
        "level_3s": l3,
        "level_4s": l4,
        "level_5s": l5,
        "level_4s_5s_dtm": min(l4 + l5, 1),
        "add_level_4s_5s_dtm": max(l4 + l5 - 1, 0),
        "new_members": min(state.new_members, 4),
        "add_new_members": max(state.new_members - 4, 0),
        "officers_trained_round_1": state.trained_round_1,
        "officers_trained_round_2": state.trained_round_2,
        "dues_on_time_oct": state.dues_on_time_oct,
        "dues_on_time_apr": state.dues_on_time_apr,
        "officer_list_on_time": state.officer_list_on_time,
        "distinguished_status": state.distinguished,
        "new_payments": state.new_members,
        "late_payments": state.late_payments,
        "october_payments": state.october_payments,
        "april_payments": state.april_payments,
        "total_renewals": state.total_renewals,
        "charter_payments": state.charter_payments,
        "total_payments": state.total_payments,
        "charter_suspend_date": state.charter_suspend_date,
        "october_renewals": state.october_payments,
        "april_renewals": state.april_payments,
        "nov_visit_award": state.nov_visit,
        "may_visit_award": state.may_visit,
        "membership_to_date": state.active_members,
    }


def _group_fields(
    prefix: str, states: list[ClubState], *, after_oct_1: bool
) -> dict[str, int | str]:
    """Area or division goals: paid and distinguished clubs against the club base."""
    base = sum(1 for state in states if state.club.charter_day is None)
    paid = sum(1 for state in states if state.paid)
    distinguished = sum(1 for state in states if state.distinguished)
    half = math.ceil(base / 2)
    paid_goals = (base, base + 1, base + 2)
    dist_goals = (half, half + 1, half + 2)
    level = ""
    if base and after_oct_1:
        for code, paid_goal, dist_goal in zip("DSP", paid_goals, dist_goals, strict=True):
            if paid >= paid_goal and distinguished >= dist_goal:
                level = code
    return {
        f"{prefix}_club_base": base,
        f"{prefix}_paid_goal_d": paid_goals[0],
        f"{prefix}_paid_goal_s": paid_goals[1],
        f"{prefix}_paid_goal_p": paid_goals[2],
        f"{prefix}_paid_clubs": paid,
        f"{prefix}_dist_goal_d": dist_goals[0],
        f"{prefix}_dist_goal_s": dist_goals[1],
        f"{prefix}_dist_goal_p": dist_goals[2],
        f"{prefix}_distinguished_clubs": distinguished,
        f"distinguished_{prefix}": level,
    }


def district_rows(
    seed: int, start: int, district_id: str, day: float
) -> list[dict[str, int | str]]:
    """One dict per club with the fields of all three per-district reports."""
    states = club_states(seed, start, district_id, day)
    after_oct_1 = day >= YearDays.of(start).oct_1
    by_area: dict[tuple[str, str], list[ClubState]] = defaultdict(list)
    by_division: dict[str, list[ClubState]] = defaultdict(list)
    for state in states:
        by_area[(state.club.division, state.club.area)].append(state)
        by_division[state.club.division].append(state)
    area_fields = {
        key: _group_fields("area", group, after_oct_1=after_oct_1) for key, group in by_area.items()
    }
    division_fields = {
        key: _group_fields("division", group, after_oct_1=after_oct_1)
        for key, group in by_division.items()
    }
    rows = []
    for state in states:
        row = _club_fields(district_id, state)
        row.update(area_fields[(state.club.division, state.club.area)])
        row.update(division_fields[state.club.division])
        rows.append(row)
    return rows


_SUMMARY_FLAGS = (
    "dsp", "training", "market_analysis", "communication_plan", "region_advisor_visit",
)  # fmt: skip


def _percent(part: int, whole: int) -> str:
    return f"{part / whole * 100:.2f}%" if whole else "N/A"


def summary_row(seed: int, start: int, district_id: str, day: float) -> dict[str, int | str]:
    """The district's row of the summary report, totalled from the same club states."""
    states = club_states(seed, start, district_id, day)
    roster = club_roster(seed, start, district_id)
    rng = stable_random(seed, "summary", start, district_id)
    flags = {name: "Y" if day >= rng.randint(20, 420) else "N" for name in _SUMMARY_FLAGS}
    established = [club for club in roster if club.charter_day is None]
    payment_base = round(sum(club.base for club in established) * rng.uniform(1.9, 2.4))
    total = sum(state.total_payments for state in states)
    paid_club_base = len(established)
    paid_clubs = sum(1 for state in states if state.paid)
    active_clubs = sum(1 for state in states if state.status != SUSPENDED)
    levels = {code: sum(1 for s in states if s.distinguished == code) for code in "DSPM"}
    distinguished = sum(levels.values())
    return {
        "region": district_region(start, district_id),
        "district": summary_district_id(district_id),
        **flags,
        "new_payments": sum(state.new_members for state in states),
        "april_payments": sum(state.april_payments for state in states),
        "october_payments": sum(state.october_payments for state in states),
        "late_payments": sum(state.late_payments for state in states),
        "charter_payments": sum(state.charter_payments for state in states),
        "total_payments": total,
        "payment_base": payment_base,
        "payment_growth_percent": _percent(total - payment_base, payment_base),
        "paid_club_base": paid_club_base,
        "paid_clubs": paid_clubs,
        "club_growth_percent": _percent(paid_clubs - paid_club_base, paid_club_base),
        "active_clubs": active_clubs,
        "distinguished_clubs": levels["D"],
        "select_distinguished_clubs": levels["S"],
        "presidents_distinguished_clubs": levels["P"],
        "smedley_distinguished_clubs": levels["M"],
        "total_distinguished_clubs": distinguished,
        "distinguished_percent": _percent(distinguished, active_clubs),
    }


def summary_rows(
    seed: int, start: int, day: float, districts: Iterable[str]
) -> list[dict[str, int | str]]:
    """Summary rows ordered by region, then district (numbers first, numerically)."""
    rows = [summary_row(seed, start, district_id, day) for district_id in districts]

    def order(row: dict[str, int | str]) -> tuple[str, int, str]:
        district = str(row["district"])
        return (str(row["region"]), int(district) if district.isdigit() else 10**6, district)

    return sorted(rows, key=order)


def rows_for(
    report: ReportType, *, seed: int, start: int, district_id: str | None, day: float
) -> list[dict[str, int | str]]:
    """The rows of one report: per club, or per district for the summary."""
    if report == ReportType.DISTRICT_SUMMARY:
        return summary_rows(seed, start, day, district_ids(start))
    if district_id is None:
        raise ValueError(f"{report} needs a district id")
    return district_rows(seed, start, district_id, day)
