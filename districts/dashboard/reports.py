"""The four dashboard reports: their exact headers per era and the canonical field of each column.

Parser and simulator both read this module, so what the simulator writes is what the parser
expects. Headers are matched case-insensitively (DOMAIN.md section 5); canonical field names are
snake_case and stable across eras.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache


class ReportType(StrEnum):
    DISTRICT_SUMMARY = "districtsummary"
    DISTRICT_PERFORMANCE = "districtperformance"
    DIVISION_PERFORMANCE = "divisionperformance"
    CLUB_PERFORMANCE = "clubperformance"


PER_DISTRICT_REPORTS = (
    ReportType.DISTRICT_PERFORMANCE,
    ReportType.DIVISION_PERFORMANCE,
    ReportType.CLUB_PERFORMANCE,
)

# --- clubperformance ------------------------------------------------------------------------
CLUB_PERFORMANCE_2020 = (
    "District", "Division", "Area", "Club Number", "Club Name", "Club Status", "Mem. Base",
    "Active Members", "Goals Met", "Level 1s", "Level 2s", "Add. Level 2s", "Level 3s",
    "Level 4s, Level 5s, or DTM award", "Add. Level 4s, Level 5s, or DTM award", "New Members",
    "Add. New Members", "Off. Trained Round 1", "Off. Trained Round 2", "Mem. dues on time Oct",
    "Mem. dues on time Apr", "Off. List On Time", "Club Distinguished Status",
)  # fmt: skip
CLUB_PERFORMANCE_2025 = (
    "District", "Division", "Area", "Club Number", "Club Name", "Club Status", "CSP", "Mem. Base",
    "Active Members", "Net Growth", "Goals Met", "Level 1s", "Level 2s or EOM",
    "Add. Level 2s or EOM", "Level 3s", "Level 4s, Path Completions, or DTM Awards",
    "Add. Level 4s, Path Completions, or DTM award", "New Members", "Add. New Members",
    "Off. Trained Round 1", "Off. Trained Round 2", "Mem. dues on time Oct",
    "Mem. dues on time Apr", "Off. List On Time", "Club Distinguished Status",
)  # fmt: skip
# Before 2020-07: pre-Pathways columns and an empty trailing header cell.
CLUB_PERFORMANCE_LEGACY = (
    "District", "Division", "Area", "Club Number", "Club Name", "Club Status", "Mem. Base",
    "Active Members", "Goals Met", "CCs", "Add. CCs", "ACs", "Add. ACs", "CL/AL/DTMs",
    "Add. CL/AL/DTMs", "Level 1s", "Level 2s", "Add. Level 2s", "Level 3s", "Level 4s",
    "Level 5s", "New Members", "Add. New Members", "Off. Trained Round 1",
    "Off. Trained Round 2", "Mem. dues on time Oct", "Mem. dues on time Apr",
    "Off. List On Time", "Club Distinguished Status", "",
)  # fmt: skip

# --- districtperformance --------------------------------------------------------------------
DISTRICT_PERFORMANCE = (
    "District", "Division", "Area", "Club", "Club Name", "New", "Late Ren.", "Oct. Ren.",
    "Apr. Ren.", "Total Ren.", "Total Chart", "Total to Date", "Distinguished Status",
    "Charter Date/Suspend Date",
)  # fmt: skip

# --- divisionperformance --------------------------------------------------------------------
DIVISION_PERFORMANCE = (
    "District", "Division", "Area", "Club", "Club Name", "October Renewals", "April Renewals",
    "Nov Visit award", "May visit award", "Membership to date", "Club Goals Met",
    "Distinguished Club", "Area Club Base", "Area Paid Club Goal for Dist.",
    "Area Paid Club Goal for Select Dist.", "Area Paid Club Goal for Pres. Dist.",
    "Total Paid Area Clubs", "Area Dist. Club Goal for Dist.",
    "Area Dist. Club Goal for Select Dist.", "Area Dist. Club Goal for Pres. Dist.",
    "Total Dist. Area Clubs", "Distinguished Area", "Division Club Base",
    "Division Paid Club Goal for Dist.", "Division Paid Club Goal for Select Dist.",
    "Division Paid Club Goal for Pres. Dist.", "Total Paid Division Clubs",
    "Division Dist. Club Goal for Dist.", "Division Dist. Club Goal for Select Dist.",
    "Division Dist. Club Goal for Pres. Dist.", "Total Dist. Division Clubs",
    "Distinguished Division", "Charter Date/Suspend Date",
)  # fmt: skip

# --- districtsummary ------------------------------------------------------------------------
DISTRICT_SUMMARY_2025 = (
    "REGION", "DISTRICT", "DSP", "Training", "Market Analysis", "Communication Plan",
    "Region Advisor Visit", "New Payments", "April Payments", "October Payments",
    "Late Payments", "Charter Payments", "Total YTD Payments", "Payment Base",
    "% Payment Growth", "Paid Club Base", "Paid Clubs", "% Club Growth", "Active Clubs",
    "Distinguished Clubs", "Select Distinguished Clubs", "Presidents Distinguished Clubs",
    "Smedley Distinguished Clubs", "Total Distinguished Clubs", "% Distinguished Clubs",
)  # fmt: skip
DISTRICT_SUMMARY_LEGACY = tuple(
    h
    for h in DISTRICT_SUMMARY_2025
    if h
    not in {
        "Market Analysis",
        "Communication Plan",
        "Region Advisor Visit",
        "Smedley Distinguished Clubs",
    }
)

# Header (lower-cased) -> canonical field. Variants of one column map to the same field.
CANONICAL_FIELDS: dict[str, str] = {
    "district": "district",
    "region": "region",
    "division": "division",
    "area": "area",
    "club number": "club_number",
    "club": "club_number",
    "club name": "club_name",
    "club status": "club_status",
    "csp": "csp",
    "mem. base": "membership_base",
    "active members": "active_members",
    "net growth": "net_growth",
    "goals met": "goals_met",
    "ccs": "ccs",
    "add. ccs": "add_ccs",
    "acs": "acs",
    "add. acs": "add_acs",
    "cl/al/dtms": "cl_al_dtms",
    "add. cl/al/dtms": "add_cl_al_dtms",
    "level 1s": "level_1s",
    "level 2s": "level_2s",
    "level 2s or eom": "level_2s",
    "add. level 2s": "add_level_2s",
    "add. level 2s or eom": "add_level_2s",
    "level 3s": "level_3s",
    "level 4s": "level_4s",
    "level 5s": "level_5s",
    "level 4s, level 5s, or dtm award": "level_4s_5s_dtm",
    "level 4s, path completions, or dtm awards": "level_4s_5s_dtm",
    "add. level 4s, level 5s, or dtm award": "add_level_4s_5s_dtm",
    "add. level 4s, path completions, or dtm award": "add_level_4s_5s_dtm",
    "new members": "new_members",
    "add. new members": "add_new_members",
    "off. trained round 1": "officers_trained_round_1",
    "off. trained round 2": "officers_trained_round_2",
    "mem. dues on time oct": "dues_on_time_oct",
    "mem. dues on time apr": "dues_on_time_apr",
    "off. list on time": "officer_list_on_time",
    "club distinguished status": "distinguished_status",
    "distinguished status": "distinguished_status",
    # districtperformance
    "new": "new_payments",
    "late ren.": "late_payments",
    "oct. ren.": "october_payments",
    "apr. ren.": "april_payments",
    "total ren.": "total_renewals",
    "total chart": "charter_payments",
    "total to date": "total_payments",
    "charter date/suspend date": "charter_suspend_date",
    # divisionperformance
    "october renewals": "october_renewals",
    "april renewals": "april_renewals",
    "nov visit award": "nov_visit_award",
    "may visit award": "may_visit_award",
    "membership to date": "membership_to_date",
    "club goals met": "goals_met",
    "distinguished club": "distinguished_status",
    "area club base": "area_club_base",
    "area paid club goal for dist.": "area_paid_goal_d",
    "area paid club goal for select dist.": "area_paid_goal_s",
    "area paid club goal for pres. dist.": "area_paid_goal_p",
    "total paid area clubs": "area_paid_clubs",
    "area dist. club goal for dist.": "area_dist_goal_d",
    "area dist. club goal for select dist.": "area_dist_goal_s",
    "area dist. club goal for pres. dist.": "area_dist_goal_p",
    "total dist. area clubs": "area_distinguished_clubs",
    "distinguished area": "distinguished_area",
    "division club base": "division_club_base",
    "division paid club goal for dist.": "division_paid_goal_d",
    "division paid club goal for select dist.": "division_paid_goal_s",
    "division paid club goal for pres. dist.": "division_paid_goal_p",
    "total paid division clubs": "division_paid_clubs",
    "division dist. club goal for dist.": "division_dist_goal_d",
    "division dist. club goal for select dist.": "division_dist_goal_s",
    "division dist. club goal for pres. dist.": "division_dist_goal_p",
    "total dist. division clubs": "division_distinguished_clubs",
    "distinguished division": "distinguished_division",
    # districtsummary
    "dsp": "dsp",
    "training": "training",
    "market analysis": "market_analysis",
    "communication plan": "communication_plan",
    "region advisor visit": "region_advisor_visit",
    "new payments": "new_payments",
    "april payments": "april_payments",
    "october payments": "october_payments",
    "late payments": "late_payments",
    "charter payments": "charter_payments",
    "total ytd payments": "total_payments",
    "payment base": "payment_base",
    "% payment growth": "payment_growth_percent",
    "paid club base": "paid_club_base",
    "paid clubs": "paid_clubs",
    "% club growth": "club_growth_percent",
    "active clubs": "active_clubs",
    "distinguished clubs": "distinguished_clubs",
    "select distinguished clubs": "select_distinguished_clubs",
    "presidents distinguished clubs": "presidents_distinguished_clubs",
    "smedley distinguished clubs": "smedley_distinguished_clubs",
    "total distinguished clubs": "total_distinguished_clubs",
    "% distinguished clubs": "distinguished_percent",
}

# Key columns that must be present (DOMAIN.md section 4), as canonical fields.
KEY_FIELDS: dict[ReportType, tuple[str, ...]] = {
    ReportType.DISTRICT_SUMMARY: ("district",),
    ReportType.DISTRICT_PERFORMANCE: ("district", "division", "club_number"),
    ReportType.DIVISION_PERFORMANCE: ("district", "division", "club_number"),
    ReportType.CLUB_PERFORMANCE: ("district", "division", "club_number"),
}


@lru_cache(maxsize=4096)
def canonical_field(header: str) -> str | None:
    """The canonical field for a header cell, or None for a column we do not know."""
    return CANONICAL_FIELDS.get(" ".join(header.strip().lower().split()))


def club_performance_header(data_month_year: int, data_month: int) -> tuple[str, ...]:
    """The clubperformance header era for a data month (DOMAIN.md section 5)."""
    ym = (data_month_year, data_month)
    if ym < (2020, 7):
        return CLUB_PERFORMANCE_LEGACY
    if ym < (2025, 7):
        return CLUB_PERFORMANCE_2020
    return CLUB_PERFORMANCE_2025


def district_summary_header(data_month_year: int, data_month: int) -> tuple[str, ...]:
    """The districtsummary header era for a data month (25 columns from 2025-26 on)."""
    if (data_month_year, data_month) < (2025, 7):
        return DISTRICT_SUMMARY_LEGACY
    return DISTRICT_SUMMARY_2025


# --- contracts --------------------------------------------------------------------------------
# What the normalized statistics read from each report and era. A file is checked against the
# contract of its era before any figure is read: a required column that is missing, or a cell
# outside its column's domain, refuses the file (ValidationFailed) instead of becoming a zero.


class ColumnKind(StrEnum):
    """The domain of a column's cells; the values are how error messages describe them."""

    TEXT = "text"
    COUNT = "a whole number"
    SIGNED = "an integer"
    GOALS = "a number of goals from 0 to 10"
    CLUB_STATUS = "one of Active, Low, Suspended, Ineligible"
    LEVEL = 'one of "", D, S, P, M'
    FLAG = 'one of Y, N, ""'
    PERCENT = "a percentage or N/A"
    CLUB_NUMBER = "a club number of 1 to 8 digits"
    DIVISION = "a division letter A-Z, 0D (unassigned) or empty"
    AREA = "a two-digit area, 0A (unassigned) or empty"


CLUB_STATUSES = ("Active", "Low", "Suspended", "Ineligible")
DISTINGUISHED_LEVELS = ("D", "S", "P", "M")

# Canonical field -> the domain of its cells, the same in every report and era.
FIELD_KINDS: dict[str, ColumnKind] = {
    **dict.fromkeys(
        (
            "district", "region", "club_name", "charter_suspend_date",
        ),
        ColumnKind.TEXT,
    ),
    # Ids (DOMAIN.md section 3): `00000396` (`396` in the district and division reports),
    # division `A` and area `01`, or `0D`/`0A` for a club not yet placed.
    "club_number": ColumnKind.CLUB_NUMBER,
    "division": ColumnKind.DIVISION,
    "area": ColumnKind.AREA,
    **dict.fromkeys(
        (
            "membership_base", "active_members", "ccs", "add_ccs", "acs", "add_acs",
            "cl_al_dtms", "add_cl_al_dtms", "level_1s", "level_2s", "add_level_2s", "level_3s",
            "level_4s", "level_5s", "level_4s_5s_dtm", "add_level_4s_5s_dtm", "new_members",
            "add_new_members", "officers_trained_round_1", "officers_trained_round_2",
            "dues_on_time_oct", "dues_on_time_apr", "officer_list_on_time", "new_payments",
            "late_payments", "october_payments", "april_payments", "total_renewals",
            "charter_payments", "total_payments", "october_renewals", "april_renewals",
            "nov_visit_award", "may_visit_award", "membership_to_date", "area_club_base",
            "area_paid_goal_d", "area_paid_goal_s", "area_paid_goal_p", "area_paid_clubs",
            "area_dist_goal_d", "area_dist_goal_s", "area_dist_goal_p",
            "area_distinguished_clubs", "division_club_base", "division_paid_goal_d",
            "division_paid_goal_s", "division_paid_goal_p", "division_paid_clubs",
            "division_dist_goal_d", "division_dist_goal_s", "division_dist_goal_p",
            "division_distinguished_clubs", "payment_base", "paid_club_base", "paid_clubs",
            "active_clubs", "distinguished_clubs", "select_distinguished_clubs",
            "presidents_distinguished_clubs", "smedley_distinguished_clubs",
            "total_distinguished_clubs",
        ),
        ColumnKind.COUNT,
    ),
    "net_growth": ColumnKind.SIGNED,
    "goals_met": ColumnKind.GOALS,
    "club_status": ColumnKind.CLUB_STATUS,
    "distinguished_status": ColumnKind.LEVEL,
    "distinguished_area": ColumnKind.LEVEL,
    "distinguished_division": ColumnKind.LEVEL,
    **dict.fromkeys(
        ("csp", "dsp", "training", "market_analysis", "communication_plan", "region_advisor_visit"),
        ColumnKind.FLAG,
    ),
    **dict.fromkeys(
        ("payment_growth_percent", "club_growth_percent", "distinguished_percent"),
        ColumnKind.PERCENT,
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Contract:
    """One report in one header era: its published header and the fields normalization reads.

    `required` are canonical fields; each must be published (under any of its header variants)
    or the file is refused. Other known columns are optional, but their cells are still checked
    against `FIELD_KINDS`. `first_month`/`end_month` bound the era's data months (end exclusive;
    None = open).
    """

    report: ReportType
    era: str
    header: tuple[str, ...]
    required: frozenset[str]
    first_month: tuple[int, int] | None = None
    end_month: tuple[int, int] | None = None
    # Other wordings of this era's columns seen within the era (matched when detecting it).
    variants: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """`clubperformance (2020-07..2025-06 era, 23 columns)`: names the era in messages."""
        columns = sum(1 for name in self.header if name)
        return f"{self.report} ({self.era} era, {columns} columns)"

    def covers(self, data_month: date) -> bool:
        """True when the data month lies in this era."""
        month = (data_month.year, data_month.month)
        after_start = self.first_month is None or month >= self.first_month
        before_end = self.end_month is None or month < self.end_month
        return after_start and before_end

    def published_name(self, field: str) -> str:
        """The header name of a canonical field in this era (the field itself if unpublished)."""
        for name in self.header:
            if canonical_field(name) == field:
                return name
        return field

    def missing(self, published_fields: set[str]) -> list[str]:
        """Header names, in this era's column order, of required fields not published."""
        absent = self.required - published_fields
        ordered = [self.published_name(f) for f in _ordered(absent, self.header)]
        return list(dict.fromkeys(ordered))


def _ordered(fields: frozenset[str] | set[str], header: tuple[str, ...]) -> list[str]:
    order = [canonical_field(name) for name in header]
    return sorted(fields, key=lambda f: (order.index(f) if f in order else len(order), f))


_CLUB_IDENTITY = frozenset(
    {"district", "division", "area", "club_number", "club_name", "distinguished_status"}
)
_CLUB_MEMBERSHIP = frozenset(
    {
        "club_status", "membership_base", "active_members", "goals_met", "new_members",
        "add_new_members", "level_1s", "level_2s", "add_level_2s", "level_3s",
    }
)  # fmt: skip
_PATHWAYS_LEVELS = frozenset({"level_4s_5s_dtm", "add_level_4s_5s_dtm"})
_SUMMARY_FIELDS = frozenset(
    {
        "region", "district", "new_payments", "april_payments", "october_payments",
        "late_payments", "charter_payments", "total_payments", "payment_base",
        "payment_growth_percent", "paid_club_base", "paid_clubs", "club_growth_percent",
        "active_clubs", "distinguished_clubs", "select_distinguished_clubs",
        "presidents_distinguished_clubs", "total_distinguished_clubs", "distinguished_percent",
    }
)  # fmt: skip
_PAYMENT_FIELDS = frozenset(
    {
        "new_payments", "late_payments", "october_payments", "april_payments",
        "charter_payments", "total_payments", "charter_suspend_date",
    }
)  # fmt: skip
_AREA_AND_DIVISION_FIELDS = frozenset(
    f"{prefix}_{suffix}"
    for prefix in ("area", "division")
    for suffix in (
        "club_base", "paid_goal_d", "paid_goal_s", "paid_goal_p", "paid_clubs", "dist_goal_d",
        "dist_goal_s", "dist_goal_p", "distinguished_clubs",
    )
) | {"distinguished_area", "distinguished_division"}  # fmt: skip

CONTRACTS: dict[ReportType, tuple[Contract, ...]] = {
    ReportType.CLUB_PERFORMANCE: (
        Contract(
            report=ReportType.CLUB_PERFORMANCE,
            era="2008-07..2020-06",
            header=CLUB_PERFORMANCE_LEGACY,
            # Levels 4 and 5 had a column each and there was no additional-levels column.
            required=_CLUB_IDENTITY | _CLUB_MEMBERSHIP | {"level_4s", "level_5s"},
            end_month=(2020, 7),
        ),
        Contract(
            report=ReportType.CLUB_PERFORMANCE,
            era="2020-07..2025-06",
            header=CLUB_PERFORMANCE_2020,
            required=_CLUB_IDENTITY | _CLUB_MEMBERSHIP | _PATHWAYS_LEVELS,
            first_month=(2020, 7),
            end_month=(2025, 7),
        ),
        # `CSP` and `Net Growth` are optional: normalization computes net growth itself, and
        # whether archived 2025-26 files publish CSP is unknown (DOMAIN-NOTES b.1).
        Contract(
            report=ReportType.CLUB_PERFORMANCE,
            era="2025-07..",
            header=CLUB_PERFORMANCE_2025,
            required=_CLUB_IDENTITY | _CLUB_MEMBERSHIP | _PATHWAYS_LEVELS,
            first_month=(2025, 7),
            # The "or EOM" wording appeared only at about 2026-06-30 (DOMAIN-NOTES b.1).
            variants=("Level 2s", "Add. Level 2s"),
        ),
    ),
    ReportType.DISTRICT_PERFORMANCE: (
        Contract(
            report=ReportType.DISTRICT_PERFORMANCE,
            era="2008-07..",
            header=DISTRICT_PERFORMANCE,
            required=_CLUB_IDENTITY | _PAYMENT_FIELDS,
        ),
    ),
    ReportType.DIVISION_PERFORMANCE: (
        Contract(
            report=ReportType.DIVISION_PERFORMANCE,
            era="2008-07..",
            header=DIVISION_PERFORMANCE,
            required=_CLUB_IDENTITY
            | _AREA_AND_DIVISION_FIELDS
            | {"goals_met", "nov_visit_award", "may_visit_award", "charter_suspend_date"},
        ),
    ),
    ReportType.DISTRICT_SUMMARY: (
        Contract(
            report=ReportType.DISTRICT_SUMMARY,
            era="2008-07..2025-06",
            header=DISTRICT_SUMMARY_LEGACY,
            required=_SUMMARY_FIELDS,
            end_month=(2025, 7),
        ),
        Contract(
            report=ReportType.DISTRICT_SUMMARY,
            era="2025-07..",
            header=DISTRICT_SUMMARY_2025,
            required=_SUMMARY_FIELDS | {"smedley_distinguished_clubs"},
            first_month=(2025, 7),
        ),
    ),
}


def _normalized(name: str) -> str:
    return " ".join(name.strip().lower().split())


def contract_of_month(report: ReportType, data_month: date) -> Contract:
    """The contract of the era a data month belongs to."""
    for contract in CONTRACTS[report]:
        if contract.covers(data_month):
            return contract
    return CONTRACTS[report][0]


@lru_cache(maxsize=1024)
def contract_of_header(
    report: ReportType, header: tuple[str, ...], data_month: date | None = None
) -> Contract:
    """The contract whose era's header the given header matches best.

    Matching is by published names (case-insensitive, with the era's variant wordings): the
    era whose columns the header matches for the largest share of the larger of the two wins,
    so a file with one renamed or missing column still names its own era. A tie goes to the
    era of `data_month`, then to the earlier era. Asked for every export parsed and again when
    it is normalized, so each header (a tuple) is matched once per process.
    """
    names = {_normalized(name) for name in header if name.strip()}

    def score(contract: Contract) -> tuple[float, bool]:
        era = {_normalized(name) for name in (*contract.header, *contract.variants) if name}
        columns = sum(1 for name in contract.header if name)
        matched = len(names & era) / max(len(names), columns, 1)
        return matched, data_month is not None and contract.covers(data_month)

    return max(CONTRACTS[report], key=score)
