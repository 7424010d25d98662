"""Audits of what is stored: does the dashboard still say what we stored?

A small random sample of stored (date, district) pairs of closed months is fetched again, through
the global rate limiter and circuit breaker with the response cache off, normalized exactly as a
collection would (same detail level as stored), and the bytes the district file would have are
hashed and compared with the sha256 the date's manifest recorded when the file was written.

- `match`: same bytes;
- `drift`: different bytes - the paths of the values that differ are recorded (the dashboard
  revised its data, or the normalizer changed since the file was written). The stored file is
  never touched: an operator decides and re-collects the date with `reprocess=all` (or
  re-normalizes from the archive when the normalizer is the cause);
- `error`: the re-fetch failed (network, breaker open, data no longer served); nothing compared.

Closed months only: a date whose month's closing period has ended (DOMAIN.md section 1) no
longer changes on the dashboard, so a difference means something. Run by a beat schedule
(disabled until an operator enables it) and by `manage.py snapshots_audit`.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from districts.dashboard.client import DashboardClient
from districts.dashboard.closing import closing_date_for
from districts.dashboard.collect import collect_district, collect_summary
from districts.dashboard.errors import DashboardError
from districts.dashboard.statistics import DistrictStatistics
from districts.dashboard.urls import month_end
from snapshots import store
from snapshots.models import Snapshot, SnapshotStatus

from .. import limits
from ..models import AuditOutcome, SnapshotAudit

__all__ = ["AuditOutcome", "audit_snapshots", "differences", "month_closed", "sample"]

log = logging.getLogger(__name__)

AUDIT_MAX_DIFFERENCES = 50
# A month whose closing date is not in the registry counts as closed this long after it ended
# (closing periods end by about day 29 of the next month).
CLOSED_AFTER_DAYS = 62


@dataclass(frozen=True)
class AuditTarget:
    logical_date: date
    district_id: str
    detail: str
    recorded_sha256: str


def month_closed(day: date, *, today: date) -> bool:
    """Has the month of `day` closed on the dashboard (its data no longer changes)?"""
    end = month_end(day)
    closing = closing_date_for(end)
    if closing is not None:
        return closing < today
    return (today - end).days > CLOSED_AFTER_DAYS


def sample(*, size: int, today: date, rng: random.Random) -> list[AuditTarget]:
    """Up to `size` distinct stored (date, district) pairs of closed months, at random, with the
    hash their manifest recorded. Dates come from the snapshot index; files from the manifest."""
    dates = [
        day
        for day in Snapshot.objects.filter(
            status__in=(SnapshotStatus.COMPLETED, SnapshotStatus.PARTIAL_SUCCESS),
            logical_date__lt=today - timedelta(days=1),
        ).values_list("logical_date", flat=True)
        if month_closed(day, today=today)
    ]
    rng.shuffle(dates)
    targets: list[AuditTarget] = []
    for day in dates:
        if len(targets) >= size:
            break
        manifest = store.read_manifest(logical_date=day) or {}
        files = [f for f in manifest.get("files") or [] if f.get("sha256")]
        if not files:
            continue
        chosen = rng.choice(files)
        detail = (manifest.get("detailLevels") or {}).get(chosen["districtId"], "summary")
        targets.append(AuditTarget(day, chosen["districtId"], detail, chosen["sha256"]))
    return targets


def audit_snapshots(
    *, sample_size: int | None = None, today: date | None = None, seed: int | None = None
) -> list[SnapshotAudit]:
    """Audit a random sample (`BACKFILL_AUDIT_SAMPLE_SIZE` by default) and record each check.
    Never raises for a failed re-fetch (that check is an `error`); never writes the store."""
    today = today or timezone.localdate()
    size = settings.BACKFILL_AUDIT_SAMPLE_SIZE if sample_size is None else sample_size
    targets = sample(size=size, today=today, rng=random.Random(seed))
    if not targets:
        log.info("audit: no stored snapshot of a closed month to check")
        return []
    guard = limits.dashboard_guard(enable_caching=False)
    client = DashboardClient(
        before_request=guard.before_request, after_response=guard.after_response
    )
    try:
        return [_audit(client, target) for target in targets]
    finally:
        client.close()


def _audit(client: DashboardClient, target: AuditTarget) -> SnapshotAudit:
    before = client.requests_made
    fields: dict[str, Any] = {}
    try:
        fresh = _refetch(client, target)
    except DashboardError as exc:
        fields = {"outcome": AuditOutcome.ERROR, "message": str(exc)}
    else:
        if fresh is None:
            fields = {
                "outcome": AuditOutcome.DRIFT,
                "message": f"district {target.district_id} is no longer in the summary",
            }
        else:
            fetched = store.district_sha256(fresh)
            fields = {"fetched_sha256": fetched}
            if fetched == target.recorded_sha256:
                fields["outcome"] = AuditOutcome.MATCH
            else:
                fields.update(outcome=AuditOutcome.DRIFT, **_drift(target, fresh))
    audit = SnapshotAudit.objects.create(
        logical_date=target.logical_date,
        district_id=target.district_id,
        detail=target.detail,
        recorded_sha256=target.recorded_sha256,
        requests_made=client.requests_made - before,
        checked_at=timezone.now(),
        **fields,
    )
    level = logging.WARNING if audit.outcome != AuditOutcome.MATCH else logging.INFO
    log.log(level, "audit %s district %s: %s %s", audit.logical_date, audit.district_id,
            audit.outcome, audit.message)  # fmt: skip
    return audit


def _refetch(client: DashboardClient, target: AuditTarget) -> DistrictStatistics | None:
    if target.detail == "full":
        return collect_district(
            client, district_id=target.district_id, logical_date=target.logical_date
        ).statistics
    summary = collect_summary(client, logical_date=target.logical_date)
    return summary.statistics_by_district.get(target.district_id)


def _drift(target: AuditTarget, fresh: DistrictStatistics) -> dict[str, Any]:
    try:
        stored = store.read_district(
            logical_date=target.logical_date, district_id=target.district_id
        )
    except store.SnapshotStoreError as exc:
        return {"message": f"the stored file is unreadable ({exc}); run snapshots_verify"}
    if stored is None:
        return {"message": "the stored file is missing; run snapshots_verify"}
    paths = differences(stored.to_dict(), fresh.to_dict())
    if not paths:
        return {
            "message": "the stored file differs from what its manifest recorded; "
            "run snapshots_verify"
        }
    more = f" (first {AUDIT_MAX_DIFFERENCES})" if len(paths) > AUDIT_MAX_DIFFERENCES else ""
    return {
        "differences": paths[:AUDIT_MAX_DIFFERENCES],
        "message": f"{len(paths)} value(s) differ from the stored file{more}; re-collect the "
        "date with reprocess=all to store the dashboard's current data",
    }


def differences(stored: Any, fresh: Any, path: str = "") -> list[str]:
    """Paths of the values that differ between two JSON-like values (`a.b[2].c`)."""
    if isinstance(stored, dict) and isinstance(fresh, dict):
        found: list[str] = []
        for key in sorted(set(stored) | set(fresh), key=str):
            found += differences(stored.get(key), fresh.get(key), f"{path}.{key}" if path else key)
        return found
    if isinstance(stored, list) and isinstance(fresh, list) and len(stored) == len(fresh):
        found = []
        for index, (a, b) in enumerate(zip(stored, fresh, strict=True)):
            found += differences(a, b, f"{path}[{index}]")
        return found
    return [] if stored == fresh else [path or "."]
