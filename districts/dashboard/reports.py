"""The four dashboard reports: their exact headers per era and the canonical field of each column.

Parser and simulator both read this module, so what the simulator writes is what the parser
expects. Headers are matched case-insensitively (DOMAIN.md section 5); canonical field names are
snake_case and stable across eras.
"""

from __future__ import annotations

from enum import StrEnum


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
