"""Factories for snapshot tests: index rows and district statistics."""

from __future__ import annotations

from datetime import date, timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from districts.dashboard import statistics
from snapshots.models import Snapshot, SnapshotStatus


class SnapshotFactory(DjangoModelFactory):
    """An index row only; no files are written (an orphan unless the test writes them)."""

    class Meta:
        model = Snapshot

    logical_date = factory.Sequence(lambda n: date(2024, 7, 1) + timedelta(days=n))
    as_of_date = factory.SelfAttribute("logical_date")
    data_month = factory.LazyAttribute(lambda s: s.logical_date.strftime("%Y-%m"))
    status = SnapshotStatus.COMPLETED
    collection_strategy = "per-district"
    scope = factory.LazyFunction(lambda: ["42"])
    district_count = 1
    error_count = 0
    size_bytes = 1000
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyFunction(timezone.now)


class DistrictStatisticsFactory(factory.Factory):
    """Summary-level statistics of one district; pass `detail="full"` and `club_details`
    (or use `full_statistics`) for detail-level data."""

    class Meta:
        model = statistics.DistrictStatistics

    district_id = "42"
    logical_date = date(2025, 3, 10)
    as_of_date = factory.SelfAttribute("logical_date")
    data_month = factory.LazyAttribute(lambda s: s.logical_date.strftime("%Y-%m"))
    program_year = "2024-2025"
    is_closing_period = False
    detail = "summary"
    region = "05"
    membership = statistics.Membership(
        active_members=2100, base=2000, net_growth=100, new_members=340
    )
    payments = statistics.Payments(
        new=340, october=900, april=700, total_ytd=1940, growth_percent=3.5
    )
    clubs = statistics.ClubCounts(total=90, active=85, paid=84, base=88, distinguished=20)


def full_statistics(
    *, district_id: str = "42", logical_date: date = date(2025, 3, 10), clubs: int = 5
) -> statistics.DistrictStatistics:
    """Detail-level statistics with `clubs` club rows, one division and one area."""
    details = tuple(
        statistics.ClubDetail(
            club_number=f"{n:08d}",
            name=f"Club number {n} of district {district_id}",
            division="A",
            area="1",
            status="Active",
            active_members=20 + n % 7,
            membership_base=18,
            new_members=n % 5,
            goals_met=n % 10,
            distinguished_level="D" if n % 3 == 0 else "",
            charter_date=date(1990, 1, 1),
        )
        for n in range(clubs)
    )
    return DistrictStatisticsFactory(
        district_id=district_id,
        logical_date=logical_date,
        detail="full",
        education=statistics.Education(level_1s=30, level_2s=12),
        divisions=(
            statistics.Division(
                division="A",
                clubs=clubs,
                areas=(statistics.Area(area="1", clubs=clubs, nov_visits=3),),
            ),
        ),
        club_details=details,
    )
