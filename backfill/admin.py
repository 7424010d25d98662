"""The consolidated Backfill section of the admin: start, preview, watch, steer, browse.

Thin views over the services (writes) and selectors (reads), added to the job admin through
`get_urls()` and wrapped in `permissions.guarded` (the admin's login and a ModelAdmin permission
hook: view to read, add to start, change to steer; backfill_project/permissions.py), with
templates that extend the admin's own and show only what the user may use.
- the job list is the history (filters by status, type, origin and dates; search by district);
- "add" is the New backfill form -> preview -> start;
- "change" is the live job page, which polls `status.json` (and `cell.json` for a grid cell);
- actions (cancel, retry failed) are POSTs with confirmation;
- a publish job's page shows its publish history (`publish_admin` lists every step of every
  job and every run of `manage.py publish_site` in one list).
"""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError as RequestInvalid

from analytics import selectors as analytics_selectors
from backfill_project import permissions
from districts.ids import ALL_DISTRICTS, InvalidDistrictId, canonical_district_id
from snapshots.models import Snapshot

from . import contracts, publish_admin  # noqa: F401  (registers the publish history)
from .api.job_serializers import JobDetailSerializer
from .errors import IdempotencyConflict, JobStateConflict
from .forms import BackfillRequestForm
from .models import (
    AuditOutcome,
    BackfillJob,
    CreatedVia,
    RateLimitConfig,
    SnapshotAudit,
    UnitStatus,
)
from .selectors import admin as admin_reads
from .selectors import audits as audit_reads
from .selectors import jobs as job_reads
from .selectors import publishing as publish_reads
from .services import actions, idempotency, jobs

# Colours of the unit statuses in the grid and the legend (readable in light and dark mode).
STATUS_COLOURS = {
    UnitStatus.SUCCEEDED: "#2e7d32",
    UnitStatus.SKIPPED: "#81c784",
    UnitStatus.UNAVAILABLE: "#9e9e9e",
    UnitStatus.RUNNING: "#1e88e5",
    UnitStatus.PENDING: "#cfd8dc",
    UnitStatus.WAITING: "#8e24aa",
    UnitStatus.FAILED: "#e53935",
    UnitStatus.CANCELLED: "#ffb300",
}


@admin.register(SnapshotAudit)
class SnapshotAuditAdmin(admin.ModelAdmin):
    """The audits of what is stored, read-only: checks come from the beat schedule (off until
    enabled under Periodic tasks) or `manage.py snapshots_audit`; drift is never written over
    the stored file."""

    list_display = (
        "checked_at",
        "logical_date",
        "district_id",
        "detail",
        "outcome_badge",
        "message",
    )
    list_filter = ("outcome", "detail", "checked_at")
    date_hierarchy = "logical_date"
    search_fields = ("district_id",)
    readonly_fields = [f.name for f in SnapshotAudit._meta.fields]

    @admin.display(description="outcome", ordering="outcome")
    def outcome_badge(self, audit: SnapshotAudit) -> str:
        colour = {"match": "#2e7d32", "drift": "#e53935"}.get(audit.outcome, "#9e9e9e")
        return format_html('<strong style="color:{}">{}</strong>', colour, audit.outcome)

    def changelist_view(self, request, extra_context=None):
        _, _, outcomes = audit_reads.audit_history(limit=0)
        if outcomes.get(AuditOutcome.DRIFT):
            messages.warning(
                request,
                f"{outcomes[AuditOutcome.DRIFT]} check(s) found drift: the dashboard now says "
                "something else than what is stored. Re-collect those dates with reprocess=all "
                "(New backfill) to store its current data.",
            )
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RateLimitConfig)
class RateLimitConfigAdmin(admin.ModelAdmin):
    list_display = (
        "max_requests",
        "window_ms",
        "min_delay_ms",
        "max_delay_ms",
        "backoff_multiplier",
        "max_concurrent",
        "updated_at",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return request.user.has_perms(permissions.EDIT_RATE_LIMIT)

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        # There is one configuration: its list is its form (read-only without edit_rate_limit).
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        config = RateLimitConfig.load()
        return HttpResponseRedirect(
            reverse("admin:backfill_ratelimitconfig_change", args=[config.pk])
        )


class DistrictSearch:
    """Search the history by district: jobs with a unit of that district."""

    @staticmethod
    def filter(queryset, term: str):
        try:
            district_id = canonical_district_id(term)
        except InvalidDistrictId:
            return queryset.none()
        return queryset.filter(units__district_id=district_id).distinct()


def live_status(job: BackfillJob) -> dict:
    """The job page's live status (status.json, and the page's first render): the job API's
    status body (`JobDetailSerializer` of `job_detail`, the one read model of a job) with what
    only the page shows: whether the job has ended and each district's last error."""
    body = dict(JobDetailSerializer(job_reads.job_detail(job=job)).data)
    body["isTerminal"] = job.is_terminal
    body["lastErrors"] = admin_reads.last_errors(job)
    return body


@admin.register(BackfillJob)
class BackfillJobAdmin(admin.ModelAdmin):
    list_display = (
        "job_link",
        "status",
        "job_type",
        "run_kind",
        "priority",
        "created_via",
        "date_range",
        "progress",
        "duration",
        "outcome",
        "created_at",
    )
    list_filter = (
        "status",
        "job_type",
        "run_kind",
        "priority",
        "created_via",
        "collection_strategy",
        "start_date",
    )
    date_hierarchy = "created_at"
    search_fields = ("id",)
    search_help_text = "Search by district id (e.g. 42) or job id."
    show_full_result_count = False
    list_per_page = 50
    change_form_template = "admin/backfill/job.html"

    @admin.display(description="job")
    def job_link(self, job: BackfillJob) -> str:
        # The first column links to the job page (the admin's change view).
        return str(job.pk)[:8]

    @admin.display(description="dates")
    def date_range(self, job: BackfillJob) -> str:
        return f"{job.start_date} .. {job.end_date}"

    @admin.display(description="progress")
    def progress(self, job: BackfillJob) -> str:
        done = job.finished_units
        percent = 100 * done / job.total_units if job.total_units else 100
        return f"{done}/{job.total_units} ({percent:.0f}%)"

    @admin.display(description="duration")
    def duration(self, job: BackfillJob) -> str:
        if not job.started_at:
            return "-"
        seconds = int(
            (
                (job.finished_at or job.heartbeat_at or job.started_at) - job.started_at
            ).total_seconds()
        )
        return str(timedelta(seconds=seconds))

    @admin.display(description="outcome")
    def outcome(self, job: BackfillJob) -> str:
        errors = (job.error_summary or {}).get("byType") or {}
        if not errors:
            return f"{job.succeeded_units} succeeded, {job.failed_units} failed"
        listed = ", ".join(f"{kind} {n}" for kind, n in sorted(errors.items()))
        return f"{job.succeeded_units} succeeded; failed: {listed}"

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        if len(term) <= 3:
            return DistrictSearch.filter(queryset, term), True
        return super().get_search_results(request, queryset, term)

    def has_add_permission(self, request):
        # New backfill (form, preview, start) starts a job.
        return request.user.has_perms(permissions.RUN_JOBS)

    def has_change_permission(self, request, obj=None):
        # The job page is read-only; it changes a job only through its actions.
        return request.user.has_perms(permissions.CONTROL_JOBS)

    def get_urls(self):
        def view(check, function):
            return permissions.guarded(self.admin_site, check, function)

        can_view = self.has_view_or_change_permission
        return [
            path(
                "<uuid:job_id>/status.json",
                view(can_view, self.status_json),
                name="backfill_job_status",
            ),
            path(
                "<uuid:job_id>/cell.json", view(can_view, self.cell_json), name="backfill_job_cell"
            ),
            path(
                "<uuid:job_id>/action/<str:action>/",
                view(self.has_change_permission, require_POST(self.action_view)),
                name="backfill_job_action",
            ),
            *super().get_urls(),
        ]

    # --- New backfill: form -> preview -> start ---------------------------------------------

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        step = request.POST.get("step") if request.method == "POST" else None
        if step == "start":
            return self._start(request)
        if step == "edit":
            form = BackfillRequestForm.from_request(_posted_request(request))
            return self._render_form(request, form)
        if step == "preview":
            form = BackfillRequestForm(request.POST)
            if form.is_valid():
                backfill_request = form.to_request()
                try:
                    preview = jobs.preview_job(request=contracts.backfill_request(backfill_request))
                except RequestInvalid as exc:
                    form.add_request_errors(contracts.error_messages(exc))
                except ValidationError as exc:
                    form.add_request_errors(exc.message_dict)
                else:
                    return self._render_preview(request, backfill_request, preview)
            return self._render_form(request, form)
        initial = {k: v for k, v in request.GET.items() if k in BackfillRequestForm.base_fields}
        return self._render_form(request, BackfillRequestForm(initial=initial))

    def _start(self, request):
        backfill_request = _posted_request(request)
        token = request.POST.get("start_token")
        try:
            if token:
                # The preview's one-time token: a double submit of Start gets the first job.
                keyed = idempotency.create_job_once(
                    key=f"admin-start:{token}",
                    user=request.user,
                    entry_point="admin",
                    body=backfill_request,
                    request=contracts.backfill_request(backfill_request),
                    created_via=CreatedVia.ADMIN,
                )
                job = keyed.job
                if not keyed.created:
                    messages.info(request, f"This preview already started backfill job {job.pk}.")
                    return HttpResponseRedirect(
                        reverse("admin:backfill_backfilljob_change", args=[job.pk])
                    )
            else:
                job = jobs.create_job(
                    request=contracts.backfill_request(backfill_request),
                    created_via=CreatedVia.ADMIN,
                    created_by=request.user,
                )
        except IdempotencyConflict as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(
                reverse("admin:backfill_backfilljob_change", args=[exc.job_id])
            )
        except (RequestInvalid, ValidationError) as exc:
            form = BackfillRequestForm.from_request(backfill_request)
            form.is_valid()
            form.add_request_errors(
                contracts.error_messages(exc)
                if isinstance(exc, RequestInvalid)
                else exc.message_dict
            )
            return self._render_form(request, form)
        messages.success(request, f"Backfill job {job.pk} started ({job.total_units} units).")
        return HttpResponseRedirect(reverse("admin:backfill_backfilljob_change", args=[job.pk]))

    def _render_form(self, request, form: BackfillRequestForm):
        today = date.today()
        context = {
            **self.admin_site.each_context(request),
            "title": "New backfill",
            "opts": self.model._meta,
            "form": form,
            "presets": _presets(today),
        }
        return TemplateResponse(request, "admin/backfill/new.html", context)

    def _render_preview(self, request, backfill_request, preview):
        context = {
            **self.admin_site.each_context(request),
            "title": "Preview the backfill",
            "opts": self.model._meta,
            "preview": preview,
            "request_json": json.dumps(backfill_request),
            "start_token": uuid.uuid4().hex,
            "rate": RateLimitConfig.load(),
        }
        return TemplateResponse(request, "admin/backfill/preview.html", context)

    # --- the live job page ----------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        job = self.get_object(request, object_id)
        if job is None:
            raise Http404("No such backfill job.")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Backfill job {job.pk}",
            "opts": self.model._meta,
            "original": job,
            "job": job,
            "status": live_status(job),
            "analytics_outputs": analytics_selectors.job_outputs(job_id=job.pk),
            "publish_history": publish_reads.job_publish_history(job=job),
            "colours": STATUS_COLOURS,
            "status_url": reverse("admin:backfill_job_status", args=[job.pk]),
            "cell_url": reverse("admin:backfill_job_cell", args=[job.pk]),
            "actions": {
                name: reverse("admin:backfill_job_action", args=[job.pk, name])
                for name in ("cancel", "retry", "pause", "resume")
            },
        }
        return TemplateResponse(request, self.change_form_template, context)

    def status_json(self, request, job_id):
        job = get_object_or_404(BackfillJob.objects.select_related("created_by"), pk=job_id)
        body = live_status(job)
        if request.GET.get("grid"):
            body["grid"] = admin_reads.unit_grid(job=job).as_dict()
        return JsonResponse(body)

    def cell_json(self, request, job_id):
        job = get_object_or_404(BackfillJob, pk=job_id)
        try:
            first = date.fromisoformat(request.GET["date"])
            district_id = request.GET["district"]
        except (KeyError, ValueError):
            return JsonResponse(
                {"error": "date (YYYY-MM-DD) and district are required"}, status=400
            )
        last = first + timedelta(days=6) if request.GET.get("week") else first
        units = admin_reads.cell_units(job=job, district_id=district_id, first=first, last=last)
        if not request.user.has_perms(permissions.VIEW_SNAPSHOTS):
            return JsonResponse({"units": units})  # no link to pages the user may not open
        snapshots = dict(
            Snapshot.objects.filter(logical_date__range=(first, last)).values_list(
                "logical_date", "pk"
            )
        )
        for unit in units:
            pk = snapshots.get(date.fromisoformat(unit["date"]))
            if pk is None or unit["status"] != UnitStatus.SUCCEEDED:
                continue
            unit["snapshotUrl"] = (
                reverse("admin:snapshots_snapshot_change", args=[pk])
                if unit["districtId"] == ALL_DISTRICTS
                else reverse("admin:snapshots_snapshot_district", args=[pk, unit["districtId"]])
            )
        return JsonResponse({"units": units})

    def action_view(self, request, job_id, action):
        job = get_object_or_404(BackfillJob, pk=job_id)
        try:
            if action == "cancel":
                job = actions.cancel_job(job=job)
                messages.success(request, f"Cancel requested: the job is {job.status}.")
            elif action == "retry":
                count = actions.retry_failed(job=job)
                messages.success(request, f"{count} failed units queued again.")
            elif action == "pause":
                job = actions.pause_job(job=job)
                messages.success(request, "Paused: units in flight finish, nothing new starts.")
            elif action == "resume":
                job = actions.resume_job(job=job)
                messages.success(request, f"Resumed: the job is {job.status} again.")
            else:
                raise Http404(f"Unknown action {action!r}.")
        except JobStateConflict as exc:
            messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("admin:backfill_backfilljob_change", args=[job.pk]))


def _posted_request(request) -> dict:
    try:
        data = json.loads(request.POST.get("request") or "{}")
    except ValueError:
        data = {}
    return data if isinstance(data, dict) else {}


def _presets(today: date) -> list[tuple[str, str, str]]:
    """(label, start, end) of the form's date presets."""
    yesterday = today - timedelta(days=1)
    last_month_end = today.replace(day=1) - timedelta(days=1)
    year = today.year if today.month >= 7 else today.year - 1
    # The last program year that has ended (July to June).
    py_start, py_end = date(year - 1, 7, 1), date(year, 6, 30)
    return [
        ("Yesterday", yesterday.isoformat(), yesterday.isoformat()),
        ("Last 7 days", (yesterday - timedelta(days=6)).isoformat(), yesterday.isoformat()),
        ("Last month", last_month_end.replace(day=1).isoformat(), last_month_end.isoformat()),
        (f"Program year {year - 1}-{year}", py_start.isoformat(), py_end.isoformat()),
    ]


# The admin index starts with the Backfill panel (running, waiting and last finished jobs).
admin.site.index_template = "admin/backfill_index.html"
