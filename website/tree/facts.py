"""What one stored date gives the site: its full-detail district files (the only ones with the
clubs and raw rows a district page needs) and its rankings; and the few facts of it that the
indexes over every date need, kept small so a publish of years holds them all in memory."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from districts.dashboard.statistics import DistrictStatistics
from districts.dashboard.values import club_key
from districts.ids import district_sort_key
from snapshots import store
from website.tree.district import data_point
from website.tree.rankings import Standing, ranking_rows
from website.tree.raw_rows import raw_exports

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DateFacts:
    """One date as the indexes see it."""

    day: date
    district_ids: tuple[str, ...]  # districts with a published district file
    points: dict[str, dict[str, Any]]  # district -> its time-series point of this date
    clubs: dict[str, tuple[str, str]]  # canonical club number -> (district, club name)
    rankings: tuple[dict[str, Any], ...] | None  # the site's ranking rows; None: no summary
    # the day the summary is as of (the site's `sourceCsvDate`); None without rankings
    rankings_as_of: date | None = None
    errors: tuple[str, ...] = field(default=())
    # districts of the date whose stored file could not be read: the site's failed districts
    failed_ids: tuple[str, ...] = field(default=())
    # district -> its standing in the rankings (empty without a summary): the newest date's
    # analytics files are built from it
    standings: dict[str, Standing] = field(default_factory=dict)

    @property
    def published(self) -> bool:
        """True when the date has files on the site (a district file or its rankings)."""
        return bool(self.district_ids) or self.rankings is not None


@dataclass(frozen=True)
class StoredDate:
    """One date read from the store: its full-detail statistics, their archived reports (by
    district, then the site's field name) and the checksums of the district files (both empty
    unless read `with_raw`), and its facts."""

    statistics: tuple[DistrictStatistics, ...]
    facts: DateFacts
    raw: dict[str, dict[str, bytes | None]] = field(default_factory=dict)
    checksums: dict[str, str] = field(default_factory=dict)


def read_date(day: date, *, with_raw: bool = True) -> StoredDate:
    """Read `day` from the store (`with_raw`: with the archived reports of its full-detail
    districts, which the district files publish). A district file that cannot be read is left
    out and named in the facts' errors; summary-detail files are not the site's district files
    (they have no clubs) and count only through the rankings."""
    # Checksums first: a file rewritten while the date is read then hashes differently from
    # what was read, so the next publish rebuilds the date instead of skipping it.
    checksums = (
        {f.district_id: f.sha256 for f in store.scan_date(logical_date=day).files}
        if with_raw
        else {}
    )
    statistics, errors, failed = [], [], []
    for district_id in sorted(store.list_districts(logical_date=day), key=district_sort_key):
        try:
            stats = store.read_district(logical_date=day, district_id=district_id)
        except store.SnapshotStoreError as exc:
            log.error("publish %s district %s: unreadable: %s", day, district_id, exc)
            errors.append(f"district {district_id}: unreadable: {exc}")
            failed.append(district_id)
            continue
        if stats is not None and stats.detail == "full":
            statistics.append(stats)
    rows, standings, rankings_as_of, problem = ranking_rows(day)
    if problem:
        errors.append(problem)
    clubs = {
        club_key(club.club_number): (stats.district_id, club.name)
        for stats in statistics
        for club in stats.club_details
    }
    facts = DateFacts(
        day=day,
        district_ids=tuple(s.district_id for s in statistics),
        points={s.district_id: data_point(s) for s in statistics},
        clubs=clubs,
        rankings=tuple(rows) if rows is not None else None,
        rankings_as_of=rankings_as_of,
        errors=tuple(errors),
        failed_ids=tuple(failed),
        standings=standings,
    )
    raw = {}
    if with_raw:
        for stats in statistics:
            raw[stats.district_id] = raw_exports(
                as_of=stats.as_of_date, district_id=stats.district_id
            )
    return StoredDate(statistics=tuple(statistics), facts=facts, raw=raw, checksums=checksums)


def date_facts(day: date) -> DateFacts:
    """The facts of one stored date, without its archived reports (see `read_date`)."""
    return read_date(day, with_raw=False).facts
