"""Reads of the analytics documents: what exists comes from the index (`AnalyticsOutput`), the
documents themselves from the store (their formats: analytics/documents.py).

The API and the admin pages read through these functions only. District ids and program years
are taken as validated (`contracts.DistrictAnalyticsQuerySerializer`); nothing here writes.
A document that is not there raises `AnalyticsNotFound`, whose message says how to generate it
and whose context says what exists nearby; an unreadable file raises `SnapshotStoreError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.apps import apps
from django.db.models import Count, Max, Min

from districts.ids import district_sort_key

from . import documents
from .errors import AnalyticsNotFound
from .models import AnalyticsKind, AnalyticsOutput

HOW_TO_GENERATE = (
    "Run an analytics-generation job over those dates to generate them "
    '(jobType "analytics-generation": POST /api/admin/backfill, or New backfill in the admin).'
)

# What the pages call the documents' metrics and ranking categories.
METRIC_LABELS = {
    "activeMembers": "Active members",
    "paidClubs": "Paid clubs",
    "totalPayments": "Payments",
    "totalDistinguished": "Distinguished clubs",
    "distinguishedPercent": "Distinguished %",
}
CATEGORY_LABELS = {
    "clubGrowthPercent": "Club growth %",
    "paymentGrowthPercent": "Payment growth %",
    "distinguishedPercent": "Distinguished %",
}


# --- what exists ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DistrictYears:
    district_id: str
    program_years: tuple[str, ...]  # newest first


@dataclass(frozen=True)
class RankingYear:
    program_year: str
    count: int
    first_date: date
    last_date: date


@dataclass(frozen=True)
class RankingMonth:
    month: str  # YYYY-MM
    dates: tuple[date, ...]


@dataclass(frozen=True)
class AnalyticsIndex:
    district_series_count: int
    rankings_count: int
    program_years: tuple[str, ...]  # of either kind, newest first
    districts: tuple[DistrictYears, ...]  # in district order
    ranking_years: tuple[RankingYear, ...]  # newest first
    latest_ranking_date: date | None
    last_generated_at: datetime | None


def analytics_index() -> AnalyticsIndex:
    """Everything the index lists, grouped: districts with their program years, ranking dates
    per program year. Three grouped queries, whatever the number of documents."""
    outputs = AnalyticsOutput.objects
    series = outputs.filter(kind=AnalyticsKind.DISTRICT_TIME_SERIES)
    years_by_district: dict[str, list[str]] = {}
    for district_id, program_year in series.values_list("district_id", "program_year"):
        years_by_district.setdefault(district_id, []).append(program_year)
    ranking_years = tuple(
        RankingYear(
            program_year=row["program_year"],
            count=row["count"],
            first_date=row["first"],
            last_date=row["last"],
        )
        for row in outputs.filter(kind=AnalyticsKind.RANKINGS)
        .values("program_year")
        .annotate(count=Count("id"), first=Min("logical_date"), last=Max("logical_date"))
        .order_by("-program_year")
    )
    program_years = {y for years in years_by_district.values() for y in years}
    program_years |= {r.program_year for r in ranking_years}
    return AnalyticsIndex(
        district_series_count=sum(len(years) for years in years_by_district.values()),
        rankings_count=sum(r.count for r in ranking_years),
        program_years=tuple(sorted(program_years, reverse=True)),
        districts=tuple(
            DistrictYears(district_id=d, program_years=tuple(sorted(years, reverse=True)))
            for d, years in sorted(years_by_district.items(), key=lambda i: district_sort_key(i[0]))
        ),
        ranking_years=ranking_years,
        latest_ranking_date=max((r.last_date for r in ranking_years), default=None),
        last_generated_at=outputs.aggregate(last=Max("generated_at"))["last"],
    )


def ranking_calendar() -> tuple[RankingMonth, ...]:
    """Every ranking date, grouped by month, newest month first (dates oldest first)."""
    months: dict[str, list[date]] = {}
    for day in _ranking_dates().order_by("logical_date"):
        months.setdefault(f"{day:%Y-%m}", []).append(day)
    return tuple(
        RankingMonth(month=m, dates=tuple(days)) for m, days in sorted(months.items(), reverse=True)
    )


def district_program_years(*, district_id: str) -> tuple[str, ...]:
    """The program years with a time series of the district, newest first."""
    return tuple(
        AnalyticsOutput.objects.filter(
            kind=AnalyticsKind.DISTRICT_TIME_SERIES, district_id=district_id
        )
        .order_by("-program_year")
        .values_list("program_year", flat=True)
    )


def districts_with_series(*, program_year: str) -> frozenset[str]:
    """The districts that have a time series of `program_year`."""
    return frozenset(
        AnalyticsOutput.objects.filter(
            kind=AnalyticsKind.DISTRICT_TIME_SERIES, program_year=program_year
        ).values_list("district_id", flat=True)
    )


def rankings_exist(*, logical_date: date) -> bool:
    return _ranking_dates().filter(logical_date=logical_date).exists()


def _ranking_dates():
    return AnalyticsOutput.objects.filter(
        kind=AnalyticsKind.RANKINGS, logical_date__isnull=False
    ).values_list("logical_date", flat=True)


# --- a district's program year ----------------------------------------------------------------


@dataclass(frozen=True)
class MetricSummary:
    key: str
    label: str
    first: float | None
    last: float | None
    change: float | None
    best_date: str | None
    best_value: float | None
    worst_date: str | None
    worst_value: float | None


@dataclass(frozen=True)
class DistrictAnalytics:
    district_id: str
    program_year: str
    document: dict[str, Any]  # as stored
    available_program_years: tuple[str, ...]  # newest first
    generated_at: datetime | None  # from the index; None when the file is not indexed
    job_id: str | None
    job_exists: bool  # the job that wrote it is still recorded (jobs are cleaned up)

    @property
    def summary(self) -> tuple[MetricSummary, ...]:
        return metric_summaries(self.document)


def district_analytics(*, district_id: str, program_year: str | None = None) -> DistrictAnalytics:
    """The time-series document of a district's program year (`None`: the latest indexed).

    Raises AnalyticsNotFound (context: `availableProgramYears`) when nothing is stored, and
    SnapshotStoreError when the stored file is unreadable."""
    years = district_program_years(district_id=district_id)
    context = {"availableProgramYears": list(years)}
    if program_year is None:
        if not years:
            raise AnalyticsNotFound(
                message=f"No analytics have been generated for district {district_id} yet. "
                + HOW_TO_GENERATE,
                context=context,
            )
        program_year = years[0]
    document = documents.read_district_series(district_id=district_id, program_year=program_year)
    if document is None:
        available = f" (generated: {', '.join(years)})" if years else ""
        raise AnalyticsNotFound(
            message=f"No analytics of district {district_id} for program year {program_year}"
            f"{available}. " + HOW_TO_GENERATE,
            context=context,
        )
    row = _indexed(documents.district_series_name(district_id, program_year))
    return DistrictAnalytics(
        district_id=district_id,
        program_year=program_year,
        document=document,
        available_program_years=years,
        **_written(row),
    )


def metric_summaries(document: dict[str, Any]) -> tuple[MetricSummary, ...]:
    """The program-year summary of a time-series document, one row per metric, labelled."""
    metrics = (document.get("summary") or {}).get("metrics") or {}
    rows = []
    for key, values in metrics.items():
        best = values.get("best") or {}
        worst = values.get("worst") or {}
        rows.append(
            MetricSummary(
                key=key,
                label=METRIC_LABELS.get(key, key),
                first=values.get("first"),
                last=values.get("last"),
                change=values.get("change"),
                best_date=best.get("date"),
                best_value=best.get("value"),
                worst_date=worst.get("date"),
                worst_value=worst.get("value"),
            )
        )
    return tuple(rows)


# --- the rankings of a date -----------------------------------------------------------------


@dataclass(frozen=True)
class CategoryCell:
    value: float | None
    rank: int | None
    points: int


@dataclass(frozen=True)
class RankingRow:
    district_id: str
    overall_rank: int
    total_points: int
    categories: tuple[CategoryCell, ...]  # in the document's category order
    has_series: bool  # the district has a time series of the program year (a page to link)


@dataclass(frozen=True)
class RankingsAnalytics:
    logical_date: date
    program_year: str
    document: dict[str, Any]  # as stored
    previous_date: date | None
    next_date: date | None
    available_dates: tuple[date, ...]  # the ranking dates of the program year, oldest first
    generated_at: datetime | None
    job_id: str | None
    job_exists: bool

    @property
    def category_labels(self) -> tuple[str, ...]:
        return tuple(CATEGORY_LABELS.get(c, c) for c in self.document.get("categories") or ())

    def rows(self) -> tuple[RankingRow, ...]:
        """The table of the admin page: one row per district, in the document's order."""
        categories = self.document.get("categories") or ()
        linked = districts_with_series(program_year=self.program_year)
        return tuple(
            RankingRow(
                district_id=r["districtId"],
                overall_rank=r["overallRank"],
                total_points=r["totalPoints"],
                categories=tuple(
                    CategoryCell(
                        value=(r.get("values") or {}).get(c),
                        rank=(r.get("ranks") or {}).get(c),
                        points=(r.get("points") or {}).get(c, 0),
                    )
                    for c in categories
                ),
                has_series=r["districtId"] in linked,
            )
            for r in self.document.get("rankings") or ()
        )


def rankings_analytics(*, logical_date: date | None = None) -> RankingsAnalytics:
    """The rankings document of a snapshot date (`None`: the latest indexed), with the previous
    and next ranking dates and the program year's ranking dates.

    Raises AnalyticsNotFound (context: `previousDate`, `nextDate`) when nothing is stored, and
    SnapshotStoreError when the stored file is unreadable."""
    dates = _ranking_dates()
    if logical_date is None:
        logical_date = dates.order_by("-logical_date").first()
        if logical_date is None:
            raise AnalyticsNotFound(
                message="No rankings have been generated. " + HOW_TO_GENERATE,
                context={"previousDate": None, "nextDate": None},
            )
    previous_date = dates.filter(logical_date__lt=logical_date).order_by("-logical_date").first()
    next_date = dates.filter(logical_date__gt=logical_date).order_by("logical_date").first()
    document = documents.read_rankings(logical_date=logical_date)
    if document is None:
        nearest = [d.isoformat() for d in (previous_date, next_date) if d]
        hint = f" (nearest generated: {', '.join(nearest)})" if nearest else ""
        raise AnalyticsNotFound(
            message=f"No rankings for {logical_date.isoformat()}{hint}. " + HOW_TO_GENERATE,
            context={
                "previousDate": previous_date.isoformat() if previous_date else None,
                "nextDate": next_date.isoformat() if next_date else None,
            },
        )
    row = _indexed(documents.rankings_name(logical_date))
    program_year = row.program_year if row else str(document.get("programYear", ""))
    return RankingsAnalytics(
        logical_date=logical_date,
        program_year=program_year,
        document=document,
        previous_date=previous_date,
        next_date=next_date,
        available_dates=tuple(dates.filter(program_year=program_year).order_by("logical_date")),
        **_written(row),
    )


def _indexed(name: str) -> AnalyticsOutput | None:
    return AnalyticsOutput.objects.filter(name=name).first()


def _jobs():
    """The backfill jobs, to say whether the job that wrote a document still exists (looked up
    by name: analytics does not import backfill)."""
    return apps.get_model("backfill", "BackfillJob").objects


def _written(row: AnalyticsOutput | None) -> dict[str, Any]:
    """When and by which job an indexed document was written."""
    job_id = row.job_id if row else None
    return {
        "generated_at": row.generated_at if row else None,
        "job_id": str(job_id) if job_id else None,
        "job_exists": bool(job_id) and _jobs().filter(pk=job_id).exists(),
    }


# --- what a job wrote -----------------------------------------------------------------------


@dataclass(frozen=True)
class JobOutputs:
    district_series: tuple[tuple[str, str], ...]  # (district id, program year), first `limit`
    district_series_count: int
    rankings_count: int
    first_ranking_date: date | None
    last_ranking_date: date | None

    @property
    def count(self) -> int:
        return self.district_series_count + self.rankings_count

    @property
    def more_district_series(self) -> int:
        """Time series beyond the listed ones."""
        return self.district_series_count - len(self.district_series)


def job_outputs(*, job_id: object, limit: int = 24) -> JobOutputs:
    """The analytics documents a job wrote (`AnalyticsOutput.job_id`): its district time series
    in district order (the first `limit`) and the range of its ranking dates."""
    outputs = AnalyticsOutput.objects.filter(job_id=job_id)
    series = sorted(
        outputs.filter(kind=AnalyticsKind.DISTRICT_TIME_SERIES).values_list(
            "district_id", "program_year"
        ),
        key=lambda s: (district_sort_key(s[0]), s[1]),
    )
    rankings = outputs.filter(kind=AnalyticsKind.RANKINGS).aggregate(
        count=Count("id"), first=Min("logical_date"), last=Max("logical_date")
    )
    return JobOutputs(
        district_series=tuple(series[:limit]),
        district_series_count=len(series),
        rankings_count=rankings["count"],
        first_ranking_date=rankings["first"],
        last_ranking_date=rankings["last"],
    )
