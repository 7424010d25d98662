"""Template tags of the admin's analytics pages: links to them, and how their figures read."""

from __future__ import annotations

from datetime import date

from django import template

from analytics import admin as analytics_admin
from analytics import selectors as analytics_selectors

register = template.Library()


@register.filter
def figure(value: float | None) -> str:
    """`5312` -> `5,312`, `1.93` -> `1.9`, None -> `-` (a value the snapshot does not have)."""
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.1f}"


@register.filter
def signed(value: float | None) -> str:
    """A change with its sign: `+578`, `-88`, `0`, `+1.5`; None -> `-`."""
    if value is None:
        return "-"
    return ("+" if value > 0 else "") + figure(value)


@register.simple_tag
def analytics_overview() -> analytics_selectors.AnalyticsIndex:
    """What the admin index's Backfill panel says about analytics."""
    return analytics_selectors.analytics_index()


@register.simple_tag
def analytics_district_url(district_id: str, program_year: str | None = None) -> str:
    return analytics_admin.district_page_url(district_id, program_year)


@register.simple_tag
def analytics_rankings_url(logical_date: date | None = None) -> str:
    return analytics_admin.rankings_page_url(logical_date)


@register.simple_tag
def generated_district_analytics_url(district_id: str, program_year: str) -> str:
    """The district's analytics page of that program year if it has been generated, else ""."""
    if program_year in analytics_selectors.district_program_years(district_id=district_id):
        return analytics_admin.district_page_url(district_id, program_year)
    return ""


@register.simple_tag
def generated_rankings_url(logical_date: date) -> str:
    """The rankings page of that date if they have been generated, else ""."""
    if analytics_selectors.rankings_exist(logical_date=logical_date):
        return analytics_admin.rankings_page_url(logical_date)
    return ""
