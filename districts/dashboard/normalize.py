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
from .checks import check_contract, unknown_columns_warnings
from .csv import Footer, ParsedExport
from .divisions import divisions_of
from .errors import ValidationFailed
from .reports import CLUB_STATUSES as PUBLISHED_CLUB_STATUSES
from .reports import ReportType
from .statistics import (
    ClubCounts,
    ClubDetail,
    DistrictStatistics,
    Division,
    Education,
    Membership,
    Payments,
)
from .urls import program_year_of
from .values import (
    club_key,
    id_cell,
    int_cell,
    parse_charter_suspend,
    row_district_id,
    to_percent,
)

CLUB_STATUSES = tuple(status.lower() for status in PUBLISHED_CLUB_STATUSES)


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
    check_contract(parsed)
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
    check_contract(summary)
    _check_logical_date(summary.footer, logical_date)
    file_warnings = unknown_columns_warnings([summary])
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
            new=int_cell(row, "new_payments"),
            october=int_cell(row, "october_payments"),
            april=int_cell(row, "april_payments"),
            late=int_cell(row, "late_payments"),
            charter=int_cell(row, "charter_payments"),
            total_ytd=int_cell(row, "total_payments"),
            base=int_cell(row, "payment_base"),
        )
        clubs = ClubCounts(
            active=int_cell(row, "active_clubs"),
            paid=int_cell(row, "paid_clubs"),
            base=int_cell(row, "paid_club_base"),
            distinguished=int_cell(row, "distinguished_clubs"),
            select_distinguished=int_cell(row, "select_distinguished_clubs"),
            presidents_distinguished=int_cell(row, "presidents_distinguished_clubs"),
            smedley_distinguished=int_cell(row, "smedley_distinguished_clubs"),
            total_distinguished=int_cell(row, "total_distinguished_clubs"),
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
        check_contract(export)
    _check_logical_date(footer, logical_date)
    warnings: list[str] = list(unknown_columns_warnings(exports.values()))
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
    divisions = divisions_of(division.rows, warnings) if division else ()
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
        number = max((id_cell(row, "club_number") for row in present), key=len)
        name = first.get("club_name", "")
        for report, index in indexes.items():
            if key not in index:
                warnings.append(f"club {number} ({name}) is missing from {report}")
        charter, suspend = _charter_suspend(paid or area, number, warnings)
        details.append(
            ClubDetail(
                club_number=number,
                name=name,
                division=id_cell(first, "division"),
                area=id_cell(first, "area"),
                status=_status(club),
                active_members=int_cell(club, "active_members"),
                membership_base=int_cell(club, "membership_base"),
                new_members=_new_members(club),
                goals_met=int_cell(club, "goals_met") if club else int_cell(area, "goals_met"),
                distinguished_level=_level(club or paid or area),
                new_payments=int_cell(paid, "new_payments"),
                october_payments=int_cell(paid, "october_payments"),
                april_payments=int_cell(paid, "april_payments"),
                late_payments=int_cell(paid, "late_payments"),
                charter_payments=int_cell(paid, "charter_payments"),
                total_payments=int_cell(paid, "total_payments"),
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
    counts = [int_cell(row, "new_members"), int_cell(row, "add_new_members")]
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
            totals[field] += int_cell(row, field) or 0
        # Before 2020-07 levels 4 and 5 had a column each.
        if "level_4s_5s_dtm" in row:
            totals["level_4s_5s_dtm"] += int_cell(row, "level_4s_5s_dtm") or 0
        else:
            totals["level_4s_5s_dtm"] += (int_cell(row, "level_4s") or 0) + (
                int_cell(row, "level_5s") or 0
            )
    return Education(**totals)


# --- shared -----------------------------------------------------------------------------------


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


def _percent(row: dict[str, str], field: str) -> float | None:
    return to_percent(row[field]) if field in row else None


def _total(values: Iterable[int | None]) -> int:
    return sum(v or 0 for v in values)
