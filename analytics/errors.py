"""What the analytics reads raise; `backfill_project.exceptions` turns it into a 404."""

from __future__ import annotations


class AnalyticsNotFound(Exception):
    """No analytics document answers the question (nothing generated for that district, program
    year or date). `message` says how to generate it; `context` holds what exists nearby
    (camelCase keys, e.g. `availableProgramYears`), for the API to pass on."""

    def __init__(self, *, message: str, context: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.context = dict(context or {})
