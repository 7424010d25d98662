"""Parsed exports -> `DistrictStatistics` (DOMAIN.md section 7).

The three per-district reports are joined on the club number with leading zeros stripped; a
club missing from one of them becomes a warning, never a silently dropped club. District totals
are sums over the club details, so they always agree with them. Numbers the reports do not
publish stay None rather than a made-up zero.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date

from districts import ids

from . import figures
from .csv import (
    Footer,
    ParsedExport,
    cell_in_domain,
    club_key,
    parse_charter_suspend,
    row_district_id,
    to_int,
    to_percent,
)
from .errors import ValidationFailed
from .reports import CLUB_STATUSES as PUBLISHED_CLUB_STATUSES
from .reports import (
    FIELD_KINDS,
    ColumnKind,
    ReportType,
    canonical_field,
)
from .statistics import (
    Area,
    ClubCounts,
    ClubDetail,
    DistrictStatistics,
    Division,
    Education,
    Membership,
    Payments,
)
from .urls import program_year_of

CLUB_STATUSES = tuple(status.lower() for status in PUBLISHED_CLUB_STATUSES)

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


def logical_date_of(footer: Footer) -> date:
    """The logical date an export stands for: the data month's last day for an export as of a
    later day (the month's final state: its closing period, or an archived year's final file),
    else its as-of date."""
    if not footer.is_after_month:
        return footer.as_of
    month = footer.data_month
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def normalize_district(
    *,
    district_performance: ParsedExport,
    division_performance: ParsedExport,
    club_performance: ParsedExport,
    district_id: str,
    logical_date: date,
) -> DistrictStatistics:
    """One district's full statistics from its three reports of one collection.

    Data month, as-of date, closing flag and program year come from the club report's footer.
    Raises ValidationFailed when an export is of the wrong report or breaks its contract (a
    required column missing, a cell outside its domain), the reports disagree on the data
    month, a row belongs to another district, or `logical_date` lies outside the data month.
    """
    exports = {
        ReportType.CLUB_PERFORMANCE: club_performance,
        ReportType.DISTRICT_PERFORMANCE: district_performance,
        ReportType.DIVISION_PERFORMANCE: division_performance,
    }
    for report, export in exports.items():
        if export.report != report:
            raise ValidationFailed(f"expected a {report} export, got {export.report}")
    return _normalize_reports(exports=exports, district_id=district_id, logical_date=logical_date)


def normalize_single(
    parsed: ParsedExport, *, logical_date: date | None = None
) -> DistrictStatistics | dict[str, DistrictStatistics]:
    """What one export on its own says: summary statistics per district for a district summary,
    else the one district's statistics limited to what that report publishes.

    `logical_date` defaults to the export's own (`logical_date_of`). Raises ValidationFailed as
    `normalize_district` does, and for a per-district export without rows (no district known).
    """
    _check_contract(parsed)
    logical_date = logical_date or logical_date_of(parsed.footer)
    if parsed.report == ReportType.DISTRICT_SUMMARY:
        return normalize_summary(summary=parsed, logical_date=logical_date)
    if not parsed.rows:
        raise ValidationFailed(f"the {parsed.report} export has no rows: no district to normalize")
    return _normalize_reports(
        exports={parsed.report: parsed},
        district_id=row_district_id(parsed.rows[0]),
        logical_date=logical_date,
    )


def normalize_summary(
    *, summary: ParsedExport, logical_date: date
) -> dict[str, DistrictStatistics]:
    """Summary statistics for every district of a district summary, keyed by canonical id.

    Payments, paid clubs and distinguished counts come from the summary's columns; columns the
    era does not publish (Smedley before 2025-26) stay None. A repeated identical row is kept
    once with a warning. Raises ValidationFailed for a non-summary export, one that breaks its
    contract, conflicting rows for one district, a malformed id, or a `logical_date` outside
    the data month.
    """
    if summary.report != ReportType.DISTRICT_SUMMARY:
        raise ValidationFailed(
            f"expected a {ReportType.DISTRICT_SUMMARY} export, got {summary.report}"
        )
    _check_contract(summary)
    _check_logical_date(summary.footer, logical_date)
    file_warnings = _unknown_columns_warnings([summary])
    seen: dict[str, dict[str, str]] = {}
    result: dict[str, DistrictStatistics] = {}
    for row in summary.rows:
        district_id = row_district_id(row)
        if district_id in seen:
            if seen[district_id] != row:
                raise ValidationFailed(
                    f"district {row['district']} appears twice with different data"
                )
            first = result[district_id]
            result[district_id] = _replace_warnings(
                first, (*first.warnings, f"district {row['district']} appears twice (identical)")
            )
            continue
        seen[district_id] = row
        payments = Payments(
            new=_int(row, "new_payments"),
            october=_int(row, "october_payments"),
            april=_int(row, "april_payments"),
            late=_int(row, "late_payments"),
            charter=_int(row, "charter_payments"),
            total_ytd=_int(row, "total_payments"),
            base=_int(row, "payment_base"),
        )
        clubs = ClubCounts(
            active=_int(row, "active_clubs"),
            paid=_int(row, "paid_clubs"),
            base=_int(row, "paid_club_base"),
            distinguished=_int(row, "distinguished_clubs"),
            select_distinguished=_int(row, "select_distinguished_clubs"),
            presidents_distinguished=_int(row, "presidents_distinguished_clubs"),
            smedley_distinguished=_int(row, "smedley_distinguished_clubs"),
            total_distinguished=_int(row, "total_distinguished_clubs"),
        )
        # The percentages are the figures' one definition (districts/dashboard/figures.py),
        # computed from the row's counts; a published one that disagrees is a warning.
        percents = {
            "payment_growth_percent": figures.growth_percent(payments.total_ytd, payments.base),
            "club_growth_percent": figures.growth_percent(clubs.paid, clubs.base),
            "distinguished_percent": figures.percent(
                clubs.total_distinguished, figures.active_clubs_of(clubs, "summary")
            ),
        }
        percents, row_warnings = _checked_percents(row, percents)
        result[district_id] = DistrictStatistics(
            **_period_fields(summary.footer, logical_date),
            district_id=district_id,
            detail="summary",
            warnings=(*file_warnings, *row_warnings),
            region=row.get("region", "").strip() or None,
            payments=replace(payments, growth_percent=percents["payment_growth_percent"]),
            clubs=replace(
                clubs,
                growth_percent=percents["club_growth_percent"],
                distinguished_percent=percents["distinguished_percent"],
            ),
        )
    return result


def _checked_percents(
    row: dict[str, str], computed: dict[str, float | None]
) -> tuple[dict[str, float | None], tuple[str, ...]]:
    """The percentages to store: the counts' figure, the published one only where the counts
    give none; a published figure that disagrees beyond rounding is a warning."""
    kept: dict[str, float | None] = {}
    warnings = []
    for field, value in computed.items():
        published = _percent(row, field)
        kept[field] = published if value is None else value
        if value is not None and published is not None and abs(published - value) > 0.011:
            warnings.append(
                f"district {row['district']}: published {field} {row[field]!r} differs from "
                f"its counts' {value}; the counts' figure is kept"
            )
    return kept, tuple(warnings)


# --- per-district reports --------------------------------------------------------------------


def _normalize_reports(
    *, exports: dict[ReportType, ParsedExport], district_id: str, logical_date: date
) -> DistrictStatistics:
    canonical_id = ids.canonical_district_id(district_id)
    club = exports.get(ReportType.CLUB_PERFORMANCE)
    payments = exports.get(ReportType.DISTRICT_PERFORMANCE)
    division = exports.get(ReportType.DIVISION_PERFORMANCE)
    footer = (club or payments or division).footer
    for export in exports.values():
        _check_contract(export)
    _check_logical_date(footer, logical_date)
    warnings: list[str] = list(_unknown_columns_warnings(exports.values()))
    for report, export in exports.items():
        if export.footer.data_month != footer.data_month:
            raise ValidationFailed(
                f"{report} is for {export.footer.data_month:%Y-%m}, "
                f"the club report for {footer.data_month:%Y-%m}"
            )
        if export.footer.as_of != footer.as_of:
            warnings.append(
                f"{report} is as of {export.footer.as_of.isoformat()}, "
                f"the others as of {footer.as_of.isoformat()}"
            )
        for row in export.rows:
            if row_district_id(row) != canonical_id:
                raise ValidationFailed(
                    f"{report} has a row of district {row['district']!r}, expected {district_id}"
                )

    details = _club_details(exports, warnings)
    listed = {club_key(row["club_number"]) for row in club.rows} if club else set()
    members = [c for c in details if club_key(c.club_number) in listed]
    divisions = _divisions(division.rows, warnings) if division else ()
    return DistrictStatistics(
        **_period_fields(footer, logical_date),
        district_id=canonical_id,
        detail="full",
        membership=_membership(members) if club else Membership(),
        payments=_payments(details) if payments else Payments(),
        clubs=_club_counts(details, members, divisions, has_status=club is not None),
        education=_education(club.rows) if club else None,
        divisions=divisions,
        club_details=details,
        warnings=tuple(warnings),
        duplicate_rows=tuple(d for export in exports.values() for d in export.duplicates),
    )


def _club_details(
    exports: dict[ReportType, ParsedExport], warnings: list[str]
) -> tuple[ClubDetail, ...]:
    indexes = {
        report: {club_key(row["club_number"]): row for row in export.rows}
        for report, export in exports.items()
    }
    keys = list(dict.fromkeys(key for index in indexes.values() for key in index))
    details = []
    for key in keys:
        club = indexes.get(ReportType.CLUB_PERFORMANCE, {}).get(key)
        paid = indexes.get(ReportType.DISTRICT_PERFORMANCE, {}).get(key)
        area = indexes.get(ReportType.DIVISION_PERFORMANCE, {}).get(key)
        present = [row for row in (club, area, paid) if row is not None]
        first = present[0]
        # The club report writes the 8-digit padded number; other reports may not pad it.
        number = max((_cell(row, "club_number") for row in present), key=len)
        name = first.get("club_name", "")
        for report, index in indexes.items():
            if key not in index:
                warnings.append(f"club {number} ({name}) is missing from {report}")
        charter, suspend = _charter_suspend(paid or area, number, warnings)
        details.append(
            ClubDetail(
                club_number=number,
                name=name,
                division=_cell(first, "division"),
                area=_cell(first, "area"),
                status=_status(club),
                active_members=_int(club, "active_members"),
                membership_base=_int(club, "membership_base"),
                new_members=_new_members(club),
                goals_met=_int(club, "goals_met") if club else _int(area, "goals_met"),
                distinguished_level=_level(club or paid or area),
                new_payments=_int(paid, "new_payments"),
                october_payments=_int(paid, "october_payments"),
                april_payments=_int(paid, "april_payments"),
                late_payments=_int(paid, "late_payments"),
                charter_payments=_int(paid, "charter_payments"),
                total_payments=_int(paid, "total_payments"),
                charter_date=charter,
                suspend_date=suspend,
            )
        )
    return tuple(sorted(details, key=_club_order))


def _club_order(club: ClubDetail) -> tuple[str, str, int, str]:
    digits = club.club_number
    return (club.division, club.area, int(digits) if digits.isdigit() else 0, digits)


def _new_members(row: dict[str, str] | None) -> int | None:
    # The club report splits new members into the first four (DCP goal 7) and the additional
    # ones (goal 8); the club's new members are both together.
    if row is None:
        return None
    counts = [_int(row, "new_members"), _int(row, "add_new_members")]
    return None if all(c is None for c in counts) else sum(c or 0 for c in counts)


def _status(row: dict[str, str] | None) -> str | None:
    # Published as one of four words; stored in their canonical spelling whatever the case.
    if row is None:
        return None
    return PUBLISHED_CLUB_STATUSES[CLUB_STATUSES.index(row["club_status"].strip().lower())]


def _level(row: dict[str, str]) -> str:
    # The contract check has refused anything but "", D, S, P, M (a word such as "Presidents
    # Distinguished" would otherwise become an undercount).
    return row["distinguished_status"].strip().upper()


def _charter_suspend(
    row: dict[str, str] | None, number: str, warnings: list[str]
) -> tuple[date | None, date | None]:
    if row is None:
        return None, None
    try:
        return parse_charter_suspend(row.get("charter_suspend_date", ""))
    except ValidationFailed as exc:
        warnings.append(f"club {number}: {exc.message}")
        return None, None


def _membership(members: Sequence[ClubDetail]) -> Membership:
    active = _total(c.active_members for c in members)
    base = _total(c.membership_base for c in members)
    return Membership(
        active_members=active,
        base=base,
        net_growth=active - base,
        new_members=_total(c.new_members for c in members),
    )


def _payments(clubs: Sequence[ClubDetail]) -> Payments:
    return Payments(
        new=_total(c.new_payments for c in clubs),
        october=_total(c.october_payments for c in clubs),
        april=_total(c.april_payments for c in clubs),
        late=_total(c.late_payments for c in clubs),
        charter=_total(c.charter_payments for c in clubs),
        total_ytd=_total(c.total_payments for c in clubs),
    )


def _club_counts(
    details: Sequence[ClubDetail],
    members: Sequence[ClubDetail],
    divisions: Sequence[Division],
    *,
    has_status: bool,
) -> ClubCounts:
    by_status = {status: 0 for status in CLUB_STATUSES}
    for club in members:
        status = (club.status or "").lower()
        if status in by_status:
            by_status[status] += 1
    by_level = {level: sum(c.distinguished_level == level for c in details) for level in "DSPM"}
    total_distinguished = sum(by_level.values())
    paid = [d.paid_clubs for d in divisions if d.paid_clubs is not None]
    base = [d.club_base for d in divisions if d.club_base is not None]
    paid_total = sum(paid) if paid else None
    base_total = sum(base) if base else None
    counts = ClubCounts(
        total=len(members) if has_status else None,
        suspended=by_status["suspended"] if has_status else None,
    )
    return ClubCounts(
        total=len(members) if has_status else None,
        active=by_status["active"] if has_status else None,
        low=by_status["low"] if has_status else None,
        suspended=by_status["suspended"] if has_status else None,
        ineligible=by_status["ineligible"] if has_status else None,
        paid=paid_total,
        base=base_total,
        growth_percent=figures.growth_percent(paid_total, base_total),
        distinguished=by_level["D"],
        select_distinguished=by_level["S"],
        presidents_distinguished=by_level["P"],
        smedley_distinguished=by_level["M"],
        total_distinguished=total_distinguished,
        distinguished_percent=figures.percent(
            total_distinguished, figures.active_clubs_of(counts, "full")
        ),
    )


def _education(rows: Iterable[dict[str, str]]) -> Education:
    fields = ("level_1s", "level_2s", "add_level_2s", "level_3s", "add_level_4s_5s_dtm")
    totals = dict.fromkeys((*fields, "level_4s_5s_dtm"), 0)
    for row in rows:
        for field in fields:
            totals[field] += _int(row, field) or 0
        # Before 2020-07 levels 4 and 5 had a column each.
        if "level_4s_5s_dtm" in row:
            totals["level_4s_5s_dtm"] += _int(row, "level_4s_5s_dtm") or 0
        else:
            totals["level_4s_5s_dtm"] += (_int(row, "level_4s") or 0) + (_int(row, "level_5s") or 0)
    return Education(**totals)


def _cell(row: dict[str, str], key: str) -> str:
    """An id cell (club number, division, area) as the contract reads it: without surrounding
    blanks and case-insensitively, so `" a "` is division `A`."""
    return row.get(key, "").strip().upper()


def _divisions(rows: Sequence[dict[str, str]], warnings: list[str]) -> tuple[Division, ...]:
    by_division: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_division.setdefault(_cell(row, "division"), []).append(row)
    divisions = []
    for name in sorted(by_division):
        division_rows = by_division[name]
        by_area: dict[str, list[dict[str, str]]] = {}
        for row in division_rows:
            by_area.setdefault(_cell(row, "area"), []).append(row)
        areas = tuple(
            Area(
                area=area,
                **_figures("area", area, by_area[area], _AREA_FIELDS, warnings),
                nov_visits=sum(_int(row, "nov_visit_award") or 0 for row in by_area[area]),
                may_visits=sum(_int(row, "may_visit_award") or 0 for row in by_area[area]),
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
    published = [tuple(row.get(f, "") for f in fields) for row in rows]
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


# --- shared -----------------------------------------------------------------------------------


def _check_contract(export: ParsedExport) -> None:
    """Refuse an export that breaks its era's contract, whoever built it.

    `parse_export` already refuses such files with line numbers; this guards exports built in
    code, so that no figure is ever read from a missing column (a KeyError) or a bad cell.
    """
    contract = export.contract
    published = {field for field in map(canonical_field, export.header) if field}
    missing = contract.missing(published)
    if missing:
        raise ValidationFailed(f"{contract.label} lacks required column(s): {', '.join(missing)}")
    kinds = {field: FIELD_KINDS.get(field, ColumnKind.TEXT) for field in published}
    for row in export.rows:
        who = row.get("club_number") or row.get("district") or "?"
        for field in contract.required:
            if field not in row:
                raise ValidationFailed(f"{export.report} row of {who} has no {field}")
        for field, kind in kinds.items():
            text = row.get(field, "")
            if not cell_in_domain(kind, text, required=field in contract.required):
                raise ValidationFailed(
                    f"{export.report} row of {who}: {contract.published_name(field)} is "
                    f"{text!r}, expected {kind}"
                )


def _unknown_columns_warnings(exports: Iterable[ParsedExport]) -> tuple[str, ...]:
    return tuple(
        f"{export.report} has column(s) outside its contract, ignored: "
        + ", ".join(export.unknown_columns)
        for export in exports
        if export.unknown_columns
    )


def _check_logical_date(footer: Footer, logical_date: date) -> None:
    if (logical_date.year, logical_date.month) != (footer.data_month.year, footer.data_month.month):
        raise ValidationFailed(
            f"logical date {logical_date.isoformat()} is outside the export's data month "
            f"{footer.data_month:%Y-%m}"
        )


def _period_fields(footer: Footer, logical_date: date) -> dict:
    return {
        "logical_date": logical_date,
        "as_of_date": footer.as_of,
        "data_month": f"{footer.data_month:%Y-%m}",
        "program_year": program_year_of(footer.data_month),
        "is_closing_period": footer.is_closing_period,
    }


def _replace_warnings(stats: DistrictStatistics, warnings: tuple[str, ...]) -> DistrictStatistics:
    return DistrictStatistics(**{**stats.__dict__, "warnings": warnings})


def _int(row: dict[str, str] | None, field: str) -> int | None:
    if row is None or field not in row:
        return None
    return to_int(row[field])


def _percent(row: dict[str, str], field: str) -> float | None:
    return to_percent(row[field]) if field in row else None


def _total(values: Iterable[int | None]) -> int:
    return sum(v or 0 for v in values)
