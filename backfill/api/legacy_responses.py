"""The seed's BackfillResponse of a job, built from the job's one read model
(`selectors.jobs.job_detail`) and the legacy per-district dates."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from backfill.models import JobStatus
from backfill.selectors import jobs as job_reads
from backfill.selectors import legacy as legacy_reads

from .legacy_serializers import LEGACY_STATUS, REFRESH_METHOD

# (job id, district id) -> (what the body shows of the job's version, its body without
# `performanceStatus`), in this process: pollers of a job that did not change share one body
# (206 kB for a year of 120 districts) instead of each building it.
_BODIES: dict[tuple[Any, str | None], tuple[tuple[Any, ...], dict[str, Any]]] = {}
_BODIES_SIZE = 16


def backfill_response(
    version: job_reads.JobVersion, *, district_id: str | None = None
) -> dict[str, Any]:
    """The seed 001 BackfillResponse of a job at `version` (plain data, ready for the
    serializer). Built once per version of the job; the limits' state, which holds countdowns,
    is added at each call."""
    key, shown = (version.job.pk, district_id), version.legacy_key
    cached = _BODIES.get(key)
    if cached is None or cached[0] != shown:
        cached = (shown, _body(version, district_id=district_id))
        _BODIES.pop(key, None)
        while len(_BODIES) >= _BODIES_SIZE:
            _BODIES.pop(next(iter(_BODIES)), None)
        _BODIES[key] = cached
    body: dict[str, Any] = {}
    for name, value in cached[1].items():
        body[name] = value
        if name == "partialSnapshots":
            body["performanceStatus"] = _performance(version.performance)
    return body


def _body(version: job_reads.JobVersion, *, district_id: str | None) -> dict[str, Any]:
    detail = job_reads.job_detail(
        job=version.job, per_district=False, performance=version.performance
    )
    summary, progress, errors = detail.summary, detail.progress, detail.error_summary
    districts = {d.district_id: _district(d) for d in legacy_reads.district_dates(version=version)}
    partial = []
    for snapshot in detail.partial_snapshots:
        ok, failed = legacy_reads.partial_snapshot_districts(snapshot_id=snapshot.snapshot_id)
        total = len(ok) + len(failed)
        partial.append(
            {
                "snapshotId": snapshot.snapshot_id,
                "successfulDistricts": ok,
                "failedDistricts": failed,
                "totalDistricts": total,
                "successRate": round(len(ok) / total, 4) if total else 0.0,
            }
        )
    scope = detail.scope
    targets = scope.get("targetDistricts", [])
    strategy = {
        "type": summary.collection_strategy,
        "refreshMethod": {
            "name": REFRESH_METHOD.get(summary.collection_strategy, "getAllDistricts"),
            "params": {"districtIds": targets} if targets else {},
        },
        "rationale": detail.strategy_rationale,
        "estimatedEfficiency": detail.estimated_efficiency,
    }
    if targets:
        strategy["targetDistricts"] = targets
    body: dict[str, Any] = {
        "backfillId": summary.job_id,
        "status": LEGACY_STATUS.get(summary.status, "processing"),
        "scope": {
            "targetDistricts": targets,
            "configuredDistricts": scope.get("configuredDistricts", []),
            "scopeType": scope.get("scopeType", "system-wide"),
            "validationPassed": scope.get("validationPassed", True),
        },
        "progress": {
            "total": progress.total,
            "completed": progress.succeeded,
            "skipped": progress.skipped,
            "unavailable": progress.unavailable,
            "failed": progress.failed,
            "current": detail.current_date.isoformat() if detail.current_date else "",
            "districtProgress": districts,
            "partialSnapshots": errors["partialSnapshots"],
            "totalErrors": errors["totalErrors"],
            "retryableErrors": errors["retryableErrors"],
            "permanentErrors": errors["permanentErrors"],
        },
        "collectionStrategy": strategy,
        "snapshotIds": list(detail.snapshot_ids),
        "errorSummary": {
            key: errors[key]
            for key in (
                "totalErrors",
                "retryableErrors",
                "permanentErrors",
                "affectedDistricts",
                "partialSnapshots",
            )
        },
        "partialSnapshots": partial,
    }
    if summary.status in (JobStatus.FAILED, JobStatus.PARTIAL_SUCCESS) and errors["totalErrors"]:
        kinds = ", ".join(f"{k or 'unknown'}: {n}" for k, n in errors["byType"].items())
        body["error"] = f"{errors['totalErrors']} of {progress.total} units failed ({kinds})"
    if district_id is not None:
        body["districtId"] = district_id
    return body


def _district(d: legacy_reads.DistrictDates) -> dict[str, Any]:
    collected = d.successful_dates or d.failed_dates
    if d.dates_processed < d.dates_total:
        # Dates planned skipped or unavailable are "processed" without any work starting.
        word = "processing" if d.running or collected else "pending"
    elif d.failed_dates:
        word = "failed"
    elif not d.successful_dates:
        word = "skipped"
    else:
        word = "completed"
    body = {
        "districtId": d.district_id,
        "status": word,
        "datesProcessed": d.dates_processed,
        "datesTotal": d.dates_total,
        "successfulDates": list(d.successful_dates),
        "failedDates": list(d.failed_dates),
        "retryCount": d.retry_count,
    }
    if d.last_error:
        body["lastError"] = d.last_error
    return body


def _performance(status_: dict[str, Any]) -> dict[str, Any]:
    limiter, cache = status_["rateLimiter"], status_["intermediateCache"]
    concurrency = status_["concurrency"]
    reset_ms = limiter["nextResetMs"] or 0
    return {
        "rateLimiter": {
            "currentCount": limiter["currentCount"] or 0,
            "maxRequests": limiter["maxRequests"],
            "windowMs": limiter["windowMs"],
            "nextResetAt": (timezone.now() + timedelta(milliseconds=reset_ms)).isoformat(),
        },
        "concurrencyLimiter": {
            "activeSlots": concurrency["active"],
            "maxConcurrent": concurrency["max"],
            "queueLength": concurrency["queued"],
        },
        "intermediateCache": {
            "hitRate": cache["hitRate"] or 0.0,
            "entryCount": cache["entries"] or 0,
            "sizeBytes": cache["bytes"] or 0,
        },
    }
