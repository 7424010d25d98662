"""The audit checks of what is stored, as the audit API and the admin list them."""

from __future__ import annotations

from django.db.models import Count

from ..models import (
    AuditOutcome,
    SnapshotAudit,
)


def audit_history(
    *, outcome: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[SnapshotAudit], int, dict[str, int]]:
    """One page of audit checks (newest first), the count matching `outcome`, and the count of
    every outcome over all checks."""
    checks = SnapshotAudit.objects.all()
    if outcome:
        checks = checks.filter(outcome=outcome)
    totals = dict.fromkeys(AuditOutcome.values, 0)
    totals.update(SnapshotAudit.objects.values_list("outcome").annotate(n=Count("id")).order_by())
    return list(checks[offset : offset + limit]), checks.count(), totals
