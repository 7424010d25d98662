"""The analytics pages of the admin (read-only, because the files are the data).

Added to the `AnalyticsOutput` admin through `get_urls()`, so they sit under Backfill analytics
with the index's permissions (view_analyticsoutput, `permissions.guarded`):
- the list is the landing page: districts with their program years, ranking dates by month;
- `district/<id>/?programYear=` a district's program year: the chart (server-rendered SVG,
  analytics/charts.py), the year's summary, missing and partial dates;
- `rankings/?date=` the rankings of a date as a table, with the previous and next dates;
- an index row's own page redirects to the page of its document.
The query strings are the API's (`programYear`, `date`) and are validated by the same contract.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from backfill_project import permissions
from snapshots.store import SnapshotStoreError

from . import charts, contracts, selectors
from .errors import AnalyticsNotFound
from .models import AnalyticsKind, AnalyticsOutput

# The job type that generates analytics, as the API and the New backfill form take it
# (`backfill.models.JobType.ANALYTICS_GENERATION`; analytics does not import backfill).
ANALYTICS_GENERATION = "analytics-generation"


def district_page_url(district_id: str, program_year: str | None = None) -> str:
    url = reverse("admin:analytics_district", args=[district_id])
    return f"{url}?{urlencode({'programYear': program_year})}" if program_year else url


def rankings_page_url(logical_date: date | None = None) -> str:
    url = reverse("admin:analytics_rankings")
    return f"{url}?{urlencode({'date': logical_date.isoformat()})}" if logical_date else url


def generate_url() -> str:
    """The New backfill form with the analytics-generation job type chosen."""
    add = reverse("admin:backfill_backfilljob_add")
    return f"{add}?{urlencode({'job_type': ANALYTICS_GENERATION})}"


@admin.register(AnalyticsOutput)
class AnalyticsOutputAdmin(permissions.ReadOnlyAdmin):
    def get_urls(self):
        view = self.guarded_view
        return [
            path(
                "district/<str:district_id>/",
                view(self.district_view),
                name="analytics_district",
            ),
            path("rankings/", view(self.rankings_view), name="analytics_rankings"),
            *super().get_urls(),
        ]

    def _context(self, request, title: str) -> dict:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "landing_url": reverse("admin:analytics_analyticsoutput_changelist"),
            # The button only for those who may start a job.
            "generate_url": generate_url() if request.user.has_perms(permissions.RUN_JOBS) else "",
        }

    def changelist_view(self, request, extra_context=None):
        context = {
            **self._context(request, "Analytics"),
            "index": selectors.analytics_index(),
            "calendar": selectors.ranking_calendar(),
        }
        return TemplateResponse(request, "admin/analytics/index.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._context(request, "")
        # get_object answers None for an id that is not a number (`abc`): a 404, not a 500.
        row = self.get_object(request, object_id)
        if row is None:
            raise Http404("No such analytics document.")
        if row.kind == AnalyticsKind.RANKINGS:
            return HttpResponseRedirect(rankings_page_url(row.logical_date))
        return HttpResponseRedirect(district_page_url(row.district_id, row.program_year))

    def district_view(self, request, district_id):
        context = self._context(request, f"Analytics of district {district_id}")
        query = contracts.DistrictAnalyticsQuerySerializer(
            data={**request.GET.dict(), "district_id": district_id}
        )
        if not query.is_valid():
            return self._problem(request, context, errors=query.errors, status=400)
        district_id = query.validated_data["district_id"]
        try:
            result = selectors.district_analytics(
                district_id=district_id, program_year=query.validated_data.get("programYear")
            )
        except AnalyticsNotFound as exc:
            years = exc.context.get("availableProgramYears") or []
            links = [(f"Program year {y}", district_page_url(district_id, y)) for y in years]
            return self._problem(request, context, message=exc.message, links=links, status=404)
        except SnapshotStoreError as exc:
            return self._problem(request, context, message=str(exc), status=500)
        document = result.document
        last_date = (document.get("summary") or {}).get("lastDate")
        last_rankings = None
        if last_date and selectors.rankings_exist(logical_date=_date(last_date)):
            last_rankings = (last_date, rankings_page_url(_date(last_date)))
        context.update(
            title=f"District {district_id}, program year {result.program_year}",
            result=result,
            document=document,
            chart=charts.district_chart(document),
            summary=result.summary,
            year_choices=[(y, y == result.program_year) for y in result.available_program_years],
            last_rankings=last_rankings,
        )
        return TemplateResponse(request, "admin/analytics/district.html", context)

    def rankings_view(self, request):
        context = self._context(request, "Rankings")
        query = contracts.RankingsQuerySerializer(data=request.GET.dict())
        if not query.is_valid():
            return self._problem(request, context, errors=query.errors, status=400)
        try:
            result = selectors.rankings_analytics(logical_date=query.validated_data.get("date"))
        except AnalyticsNotFound as exc:
            links = [
                (f"{label} rankings ({day})", rankings_page_url(_date(day)))
                for label, day in (
                    ("Previous", exc.context.get("previousDate")),
                    ("Next", exc.context.get("nextDate")),
                )
                if day
            ]
            return self._problem(request, context, message=exc.message, links=links, status=404)
        except SnapshotStoreError as exc:
            return self._problem(request, context, message=str(exc), status=500)
        context.update(
            title=f"Rankings of {result.logical_date.isoformat()}",
            result=result,
            document=result.document,
            rows=result.rows(),
            previous_url=rankings_page_url(result.previous_date) if result.previous_date else "",
            next_url=rankings_page_url(result.next_date) if result.next_date else "",
        )
        return TemplateResponse(request, "admin/analytics/rankings.html", context)

    def _problem(self, request, context, *, status, message="", errors=None, links=()):
        """The page that says what is missing or wrong, and what exists instead."""
        context.update(
            message=message,
            errors=[f"{field}: {' '.join(map(str, m))}" for field, m in (errors or {}).items()],
            links=links,
        )
        return TemplateResponse(request, "admin/analytics/problem.html", context, status=status)


def _date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)
