"""The district scope: which districts are configured, and validating ids against it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db import transaction

from .ids import canonical_district_id, district_sort_key
from .models import District, DistrictConfiguration


@dataclass(frozen=True)
class ScopeResolution:
    """Targets checked against the configured scope."""

    configured: tuple[str, ...]  # empty: every district is in scope
    targets: tuple[str, ...]  # requested and in scope (canonical ids)
    excluded: tuple[str, ...]  # requested but out of scope

    @property
    def all_configured(self) -> bool:
        return bool(self.configured) and set(self.targets) == set(self.configured)


def configured_districts() -> tuple[str, ...]:
    """The configured scope (canonical ids, sorted); empty means every district."""
    ids = DistrictConfiguration.objects.values_list("district_id", flat=True)
    return tuple(sorted(ids, key=district_sort_key))


def resolve_scope(*, targets: Iterable[str]) -> ScopeResolution:
    """Split the requested targets into in-scope and excluded ids (input must be canonical)."""
    configured = configured_districts()
    wanted = tuple(dict.fromkeys(targets))
    if not configured:
        return ScopeResolution(configured=(), targets=wanted, excluded=())
    allowed = set(configured)
    return ScopeResolution(
        configured=configured,
        targets=tuple(t for t in wanted if t in allowed),
        excluded=tuple(t for t in wanted if t not in allowed),
    )


@dataclass(frozen=True)
class KnownDistricts:
    """Requested ids checked against every district known to exist."""

    unknown: tuple[str, ...]  # neither listed by a collected summary nor configured
    nothing_known: bool  # no summary collected yet: the ids could not be checked


def check_known_districts(*, district_ids: Iterable[str]) -> KnownDistricts:
    """Which canonical ids are unknown: not in the `District` table (every district a collected
    summary has listed) and not in the configured scope. Before any summary has been collected
    nothing is known and every id passes (`nothing_known`), so callers can warn that the ids
    were not checked."""
    wanted = tuple(dict.fromkeys(district_ids))
    if not District.objects.exists():
        return KnownDistricts(unknown=(), nothing_known=True)
    known = set(District.objects.filter(id__in=wanted).values_list("id", flat=True))
    known |= set(
        DistrictConfiguration.objects.filter(district_id__in=wanted).values_list(
            "district_id", flat=True
        )
    )
    return KnownDistricts(unknown=tuple(d for d in wanted if d not in known), nothing_known=False)


@transaction.atomic
def set_configured_districts(*, district_ids: Iterable[str]) -> tuple[str, ...]:
    """Replace the configured scope. An empty list means every district."""
    ids = {canonical_district_id(d) for d in district_ids}
    DistrictConfiguration.objects.exclude(district_id__in=ids).delete()
    existing = set(DistrictConfiguration.objects.values_list("district_id", flat=True))
    DistrictConfiguration.objects.bulk_create(
        [DistrictConfiguration(district_id=d) for d in ids - existing]
    )
    return configured_districts()


def add_configured_districts(*, district_ids: Iterable[str]) -> tuple[str, ...]:
    ids = {canonical_district_id(d) for d in district_ids}
    DistrictConfiguration.objects.bulk_create(
        [DistrictConfiguration(district_id=d) for d in ids], ignore_conflicts=True
    )
    return configured_districts()


def remove_configured_districts(*, district_ids: Iterable[str]) -> tuple[str, ...]:
    ids = {canonical_district_id(d) for d in district_ids}
    DistrictConfiguration.objects.filter(district_id__in=ids).delete()
    return configured_districts()


def record_districts_seen(*, seen: dict[str, str], on: date) -> None:
    """Upsert the districts a summary listed on a date (id -> region)."""
    existing = {d.id: d for d in District.objects.filter(id__in=seen)}
    to_create, to_update = [], []
    for district_id, region in seen.items():
        district = existing.get(district_id)
        if district is None:
            to_create.append(
                District(id=district_id, region=region or "", first_seen=on, last_seen=on)
            )
            continue
        district.region = region or district.region
        district.first_seen = min(filter(None, (district.first_seen, on)))
        district.last_seen = max(filter(None, (district.last_seen, on)))
        to_update.append(district)
    District.objects.bulk_create(to_create, ignore_conflicts=True)
    District.objects.bulk_update(to_update, ["region", "first_seen", "last_seen"])
