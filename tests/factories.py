"""factory-boy factories for the models tests build directly (services build the rest)."""

from __future__ import annotations

from datetime import date, timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from backfill.models import (
    BackfillJob,
    BackfillUnit,
    CollectionStrategy,
    CreatedVia,
    JobStatus,
    JobType,
    UnitStatus,
)
from districts.models import District, DistrictConfiguration


class BackfillJobFactory(DjangoModelFactory):
    """A job row without units; counters are whatever the test passes (default zero)."""

    class Meta:
        model = BackfillJob

    start_date = date(2025, 3, 10)
    end_date = factory.SelfAttribute("start_date")
    request = factory.LazyAttribute(
        lambda job: {"startDate": job.start_date.isoformat(), "endDate": job.end_date.isoformat()}
    )
    status = JobStatus.PENDING
    collection_strategy = CollectionStrategy.PER_DISTRICT
    strategy_rationale = "per-district requested"
    concurrency = 3
    created_via = CreatedVia.CLI


class BackfillUnitFactory(DjangoModelFactory):
    class Meta:
        model = BackfillUnit

    job = factory.SubFactory(BackfillJobFactory)
    logical_date = factory.SelfAttribute("job.start_date")
    district_id = factory.Sequence(lambda n: str(n % 999 + 1))
    status = UnitStatus.PENDING


class DistrictFactory(DjangoModelFactory):
    class Meta:
        model = District
        django_get_or_create = ("id",)

    id = factory.Sequence(lambda n: str(n % 999 + 1))
    region = "01"
    first_seen = date(2025, 3, 1)
    last_seen = date(2025, 3, 31)


class DistrictConfigurationFactory(DjangoModelFactory):
    """One district in the configured scope."""

    class Meta:
        model = DistrictConfiguration
        django_get_or_create = ("district_id",)

    district_id = factory.Sequence(lambda n: str(n % 999 + 1))


def running_store_job(n_units: int, *, concurrency: int, per_date: int) -> BackfillJob:
    """A running store-bound job (analytics: no snapshot assembly) with `n_units` pending units,
    `per_date` of them a date from 2025-03-01, districts numbered from 1."""
    job = BackfillJobFactory(
        job_type=JobType.ANALYTICS_GENERATION,
        status=JobStatus.RUNNING,
        started_at=timezone.now(),
        concurrency=concurrency,
        total_units=n_units,
    )
    for i in range(n_units):
        BackfillUnitFactory(
            job=job,
            logical_date=date(2025, 3, 1) + timedelta(days=i // per_date),
            district_id=str(i + 1),
        )
    return job
