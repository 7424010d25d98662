"""A job's district scope: the request's targets checked against the districts known and split
by the configured scope, and the scope as the job records it."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from districts import services as district_services

from .request import BackfillRequest


def resolve_scope(
    request: BackfillRequest,
) -> tuple[list[str], district_services.ScopeResolution]:
    """Check the targets and split them by the configured scope: (warnings, resolution).
    Raises ValidationError (targetDistricts) for unknown ids or no valid target left."""
    warnings: list[str] = []
    known = district_services.check_known_districts(district_ids=request.target_districts)
    if known.unknown:
        raise ValidationError(
            {
                "targetDistricts": [
                    f"Unknown district(s) {', '.join(known.unknown)}: no collected summary has "
                    "listed them and they are not in the configured scope."
                ]
            }
        )
    if request.target_districts and known.nothing_known:
        warnings.append(
            "District ids not checked: no summary has been collected yet, so the districts "
            "the dashboard publishes are not known."
        )
    resolution = district_services.resolve_scope(targets=request.target_districts)
    if resolution.excluded:
        warnings.append(f"Out of the configured scope, excluded: {', '.join(resolution.excluded)}.")
    if request.target_districts and not resolution.targets:
        raise ValidationError({"targetDistricts": ["No valid districts to process."]})
    return warnings, resolution


def scope_json(
    request: BackfillRequest, resolution: district_services.ScopeResolution
) -> dict[str, Any]:
    everything = not request.target_districts or resolution.all_configured
    return {
        "targetDistricts": list(resolution.targets),
        "configuredDistricts": list(resolution.configured),
        "excludedDistricts": list(resolution.excluded),
        "scopeType": _scope_type(everything=everything, targets=resolution.targets),
        "validationPassed": True,
    }


def _scope_type(*, everything: bool, targets: tuple[str, ...]) -> str:
    """The seeds' BackfillScope.scopeType: which districts, whatever the collection strategy."""
    if everything:
        return "system-wide"
    return "single-district" if len(targets) == 1 else "targeted"
