"""Template tags of the admin's Backfill section."""

from django import template

from backfill import selectors

register = template.Library()


@register.simple_tag
def backfill_overview() -> selectors.Overview:
    """What the admin index's Backfill panel shows (see `selectors.overview`)."""
    return selectors.overview()
