"""What the analytics reads raise; the API answers it 404 (`backfill_project.errors`)."""

from __future__ import annotations

from typing import Any

from backfill_project.errors import DomainError


class AnalyticsNotFound(DomainError):
    """No analytics document answers the question (nothing generated for that district, program
    year or date). `message` says how to generate it; `context` holds what exists nearby
    (camelCase keys, e.g. `availableProgramYears`), for the API to pass on."""

    http_status = 404
    code = "analytics_not_found"

    def __init__(self, *, message: str, context: dict | None = None) -> None:
        super().__init__(message)
        self.context = dict(context or {})

    def body(self) -> dict[str, Any]:
        return {**super().body(), **self.context}
