"""Template tags of the admin's Backfill section."""

from types import SimpleNamespace

from django import template

from backfill.selectors import admin as admin_reads
from backfill_project import permissions

register = template.Library()


@register.simple_tag
def backfill_overview() -> admin_reads.Overview:
    """What the admin index's Backfill panel shows (see `admin_reads.overview`)."""
    return admin_reads.overview()


@register.simple_tag(takes_context=True)
def backfill_can(context) -> SimpleNamespace:
    """What the user may open or do in the section (backfill_project/permissions.py), so that a
    page shows only the buttons and links that will not answer 403."""
    user = context["request"].user
    return SimpleNamespace(
        view_jobs=user.has_perms(permissions.VIEW_JOBS),
        run_jobs=user.has_perms(permissions.RUN_JOBS),
        control_jobs=user.has_perms(permissions.CONTROL_JOBS),
        view_rate_limit=user.has_perms(permissions.VIEW_RATE_LIMIT),
        edit_rate_limit=user.has_perms(permissions.EDIT_RATE_LIMIT),
        view_analytics=user.has_perms(permissions.VIEW_ANALYTICS),
        view_snapshots=user.has_perms(permissions.VIEW_SNAPSHOTS),
    )
