"""The divisions and areas of a district from its divisionperformance rows (DOMAIN.md section 7).

Every club row repeats its area's and its division's figures; they are read from the first row
of each, and rows that disagree become a warning. Divisions and areas come in name order.
"""

from __future__ import annotations

from collections.abc import Sequence

from .statistics import Area, Division
from .values import id_cell, int_cell, to_int

# Division/area figures repeated on every club row of the divisionperformance report.
_AREA_FIELDS = (
    "area_club_base",
    "area_paid_goal_d",
    "area_paid_goal_s",
    "area_paid_goal_p",
    "area_paid_clubs",
    "area_dist_goal_d",
    "area_dist_goal_s",
    "area_dist_goal_p",
    "area_distinguished_clubs",
    "distinguished_area",
)
_DIVISION_FIELDS = tuple(f.replace("area", "division", 1) for f in _AREA_FIELDS)


def divisions_of(rows: Sequence[dict[str, str]], warnings: list[str]) -> tuple[Division, ...]:
    """The divisions of the rows, each with its areas; disagreeing figures warn in `warnings`."""
    by_division: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_division.setdefault(id_cell(row, "division"), []).append(row)
    divisions = []
    for name in sorted(by_division):
        division_rows = by_division[name]
        by_area: dict[str, list[dict[str, str]]] = {}
        for row in division_rows:
            by_area.setdefault(id_cell(row, "area"), []).append(row)
        areas = tuple(
            Area(
                area=area,
                **_figures("area", area, by_area[area], _AREA_FIELDS, warnings),
                nov_visits=sum(int_cell(row, "nov_visit_award") or 0 for row in by_area[area]),
                may_visits=sum(int_cell(row, "may_visit_award") or 0 for row in by_area[area]),
            )
            for area in sorted(by_area)
        )
        divisions.append(
            Division(
                division=name,
                **_figures("division", name, division_rows, _DIVISION_FIELDS, warnings),
                areas=areas,
            )
        )
    return tuple(divisions)


def _figures(
    kind: str,
    name: str,
    rows: Sequence[dict[str, str]],
    fields: tuple[str, ...],
    warnings: list[str],
) -> dict:
    """The figures of an area or division, which every one of its club rows repeats."""
    blanks = ("",) * len(fields)
    published = [tuple(map(row.get, fields, blanks)) for row in rows]
    if len(set(published)) > 1:
        warnings.append(f"{kind} {name}: its club rows disagree on the {kind} figures")
    base, goal_d, goal_s, goal_p, paid, dist_d, dist_s, dist_p, distinguished, status = published[0]
    return {
        "club_base": to_int(base),
        "clubs": len(rows),
        "paid_clubs": to_int(paid),
        "distinguished_clubs": to_int(distinguished),
        "paid_club_goals": (to_int(goal_d), to_int(goal_s), to_int(goal_p)),
        "distinguished_club_goals": (to_int(dist_d), to_int(dist_s), to_int(dist_p)),
        "distinguished_status": status.strip(),
    }
