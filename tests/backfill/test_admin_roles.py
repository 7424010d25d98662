"""The admin's role matrix: every admin URL of our apps (backfill, snapshots, districts) and every
action x every role, with Django's test client against the real database.

Roles: anonymous (-> the login page), staff without any permission (-> 403), *Backfill viewers*
(reads only), *Backfill operators* (everything the section allows) and a superuser. Each case
says the least role it needs: VIEW (viewers and up), OPERATE (operators and up) or NOBODY (the
admin refuses it to everyone, e.g. adding a snapshot row). A refused request changes nothing.

The URL list is walked from the admin's URL resolver: an admin URL of our apps that no case
covers fails `test_the_matrix_covers_every_admin_url_of_our_apps`, so a new view cannot slip past.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import URLPattern, URLResolver, reverse
from django.utils import timezone

from analytics.models import AnalyticsOutput
from backfill.models import (
    BackfillJob,
    JobStatus,
    PublishStep,
    RateLimitConfig,
    SnapshotAudit,
    UnitStatus,
)
from backfill.publish_history import PublishHistoryEntry
from districts.models import District, DistrictConfiguration, MonthEndClosing
from snapshots import store
from snapshots.models import Snapshot
from tests.factories import BackfillJobFactory, BackfillUnitFactory
from tests.fixtures.api import OPERATORS, VIEWERS, staff_member
from tests.snapshots.factories import full_statistics

# Starting a job queues nothing here: the broker is replaced by a recorder (`sent`).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sent")]

OUR_APPS = ("backfill", "analytics", "snapshots", "districts")
VIEW, OPERATE, NOBODY = "view", "operate", "nobody"
ROLES = ("anonymous", "staff", "viewer", "operator", "superuser")
ALLOWED_ROLES = {
    VIEW: {"viewer", "operator", "superuser"},
    OPERATE: {"operator", "superuser"},
    NOBODY: set(),
}


class World:
    """The objects the URLs point at, made on first use (each case makes only what it needs)."""

    def __init__(self, request):
        self.request = request

    @cached_property
    def job(self) -> BackfillJob:
        job = BackfillJobFactory(status=JobStatus.RUNNING, scope={"targetDistricts": ["42"]})
        BackfillUnitFactory(job=job, district_id="42", status=UnitStatus.PENDING)
        return job

    @cached_property
    def publish_step(self) -> PublishHistoryEntry:
        step = PublishStep.objects.create(
            job=self.job, destination="file:///srv/cdn", started_at=timezone.now()
        )
        return PublishHistoryEntry.objects.get(pk=f"step-{step.pk}")

    @cached_property
    def snapshot(self) -> Snapshot:
        self.request.getfixturevalue("snapshot_root")
        day = date(2025, 3, 10)
        store.write_district(logical_date=day, statistics=full_statistics(district_id="42"))
        store.archive_raw_csv(
            as_of=day, report="clubperformance", district_id="42", data=b"raw,csv\r\n"
        )
        store.finalize_snapshot(
            logical_date=day,
            collection_strategy="per-district",
            scope=["42"],
            job_id=None,
            district_errors={},
        )
        return Snapshot.objects.get(logical_date=day)

    @cached_property
    def analytics(self) -> AnalyticsOutput:
        self.request.getfixturevalue("analytics_data")
        return AnalyticsOutput.objects.order_by("pk").first()

    @property
    def rankings_date(self) -> str:
        self.analytics  # noqa: B018  (the documents are written)
        return AnalyticsOutput.objects.filter(kind="rankings").latest("logical_date").logical_date

    @cached_property
    def audit(self) -> SnapshotAudit:
        return SnapshotAudit.objects.create(
            logical_date=date(2025, 3, 10),
            district_id="42",
            detail="full",
            outcome="match",
            recorded_sha256="0" * 64,
            checked_at="2025-03-11T00:00:00Z",
        )

    @cached_property
    def district(self) -> District:
        return District.objects.create(id="42", region="01")

    @cached_property
    def configured(self) -> DistrictConfiguration:
        return DistrictConfiguration.objects.create(district_id="42")

    @cached_property
    def closing(self) -> MonthEndClosing:
        return MonthEndClosing.objects.create(
            data_month=date(2025, 3, 1), closing_date=date(2025, 4, 3)
        )

    @cached_property
    def config(self) -> RateLimitConfig:
        return RateLimitConfig.load()


def fingerprint() -> tuple:
    """What a refused request must leave as it was."""
    return (
        sorted(BackfillJob.objects.values_list("pk", "status")),
        list(RateLimitConfig.objects.values_list("max_requests", "min_delay_ms")),
        sorted(District.objects.values_list("id", "region")),
        sorted(DistrictConfiguration.objects.values_list("district_id", flat=True)),
        sorted(MonthEndClosing.objects.values_list("data_month", "closing_date")),
        sorted(SnapshotAudit.objects.values_list("pk", flat=True)),
        sorted(Snapshot.objects.values_list("pk", flat=True)),
        sorted(AnalyticsOutput.objects.values_list("pk", flat=True)),
    )


@dataclass(frozen=True)
class Case:
    name: str  # the URL's name in the admin namespace
    level: str  # the least role: VIEW, OPERATE or NOBODY
    method: str = "get"
    args: Callable[[World], list] = lambda world: []
    data: Callable[[World], dict] = lambda world: {}
    query: str = ""
    allowed: int = 200  # the answer to a role that may
    label: str = ""
    refused: tuple[int, ...] = field(default=(403,))

    @property
    def id(self) -> str:
        return f"{self.method.upper()}-{self.name}{'-' + self.label if self.label else ''}"


def rate_form(world: World) -> dict:
    return {
        "max_requests": 5,
        "window_ms": 60_000,
        "min_delay_ms": 3_000,
        "max_delay_ms": 30_000,
        "backoff_multiplier": 2.0,
        "max_concurrent": 3,
    }


def new_backfill(step: str) -> Callable[[World], dict]:
    def data(world: World) -> dict:
        world.district  # noqa: B018  (the district must exist)
        request = {"startDate": "2025-03-10", "endDate": "2025-03-10", "targetDistricts": ["42"]}
        return {
            "step": step,
            "request": json.dumps(request),
            "job_type": "data-collection",
            "start_date": "2025-03-10",
            "end_date": "2025-03-10",
            "target_districts": "42",
            "collection_type": "auto",
            "concurrency": 1,
        }

    return data


def model_cases(app: str, model: str, obj: Callable[[World], object], **levels) -> list[Case]:
    """The five views Django gives every ModelAdmin; `levels` says who may use each."""
    pk = lambda world: [obj(world).pk]  # noqa: E731
    prefix = f"{app}_{model}"
    cases = [
        Case(f"{prefix}_changelist", VIEW, allowed=levels.get("changelist_code", 200)),
        Case(f"{prefix}_add", levels["add"]),
        Case(f"{prefix}_history", VIEW, args=pk),
        Case(f"{prefix}_delete", levels["delete"], args=pk),
        Case(
            f"{prefix}_delete", levels["delete"], "post", pk, lambda w: {"post": "yes"}, allowed=302
        ),
        Case(f"{prefix}_change", VIEW, args=pk, allowed=levels.get("change_code", 200)),
    ]
    if "change_post" in levels:
        post, data = levels["change_post"]
        cases.append(Case(f"{prefix}_change", post, "post", pk, data, allowed=302))
    return cases


def job_arg(world: World) -> list:
    return [world.job.pk]


CASES = [
    # Backfill: the job history, New backfill, the job page and its JSON, the actions.
    *model_cases("backfill", "backfilljob", lambda w: w.job, add=OPERATE, delete=OPERATE),
    Case("backfill_backfilljob_add", OPERATE, "post", data=new_backfill("edit"), label="edit"),
    Case(
        "backfill_backfilljob_add", OPERATE, "post", data=new_backfill("preview"), label="preview"
    ),
    Case(
        "backfill_backfilljob_add",
        OPERATE,
        "post",
        data=new_backfill("start"),
        allowed=302,
        label="start",
    ),
    Case("backfill_job_status", VIEW, args=job_arg, query="?grid=1"),
    Case("backfill_job_cell", VIEW, args=job_arg, query="?date=2025-03-10&district=42"),
    *(
        Case(
            "backfill_job_action",
            OPERATE,
            "post",
            args=lambda w, a=action: [w.job.pk, a],
            allowed=302,
            label=action,
        )
        for action in ("cancel", "pause", "resume", "retry")
    ),
    # The publish history: read-only steps of publish jobs and runs of `publish_site`.
    *model_cases(
        "backfill",
        "publishhistoryentry",
        lambda w: w.publish_step,
        add=NOBODY,
        delete=NOBODY,
        change_code=200,
    ),
    # The rate limit: one row, read by viewers, edited by operators.
    *model_cases(
        "backfill",
        "ratelimitconfig",
        lambda w: w.config,
        changelist_code=302,  # to the one row's form
        add=NOBODY,
        delete=NOBODY,
        change_post=(OPERATE, rate_form),
    ),
    # Audits (read-only rows; operators may delete them).
    *model_cases("backfill", "snapshotaudit", lambda w: w.audit, add=NOBODY, delete=OPERATE),
    # Analytics: the landing page, a district's year, the rankings.
    *model_cases(
        "analytics",
        "analyticsoutput",
        lambda w: w.analytics,
        add=NOBODY,
        delete=NOBODY,
        change_code=302,
    ),
    Case("analytics_district", VIEW, args=lambda w: [w.analytics.district_id or "42"]),
    Case("analytics_rankings", VIEW, data=lambda w: {"date": w.rankings_date}),
    # Snapshots: the index, a snapshot, a district, a raw CSV.
    *model_cases("snapshots", "snapshot", lambda w: w.snapshot, add=NOBODY, delete=NOBODY),
    Case("snapshots_snapshot_district", VIEW, args=lambda w: [w.snapshot.pk, "42"]),
    Case(
        "snapshots_snapshot_raw",
        VIEW,
        args=lambda w: [w.snapshot.pk, "clubperformance", "42"],
    ),
    # Districts: the known districts, the configured scope, month-end closing dates.
    *model_cases(
        "districts",
        "district",
        lambda w: w.district,
        add=OPERATE,
        delete=OPERATE,
        change_post=(OPERATE, lambda w: {"id": "42", "region": "07"}),
    ),
    *model_cases(
        "districts",
        "districtconfiguration",
        lambda w: w.configured,
        add=OPERATE,
        delete=OPERATE,
    ),
    *model_cases(
        "districts",
        "monthendclosing",
        lambda w: w.closing,
        add=OPERATE,
        delete=OPERATE,
        change_post=(
            OPERATE,
            lambda w: {"data_month": "2025-03-01", "closing_date": "2025-04-04", "note": ""},
        ),
    ),
    # The app pages: Django answers 404 to a user with nothing to see in the app.
    *(
        Case("app_list", VIEW, args=lambda w, a=app: [a], label=app, refused=(404,))
        for app in OUR_APPS
    ),
]


def admin_url_names(patterns=None, prefix: str = "") -> set[str]:
    """The names of the admin URLs of our apps (the admin's own pages excluded)."""
    names, ours = set(), tuple(f"{app}/" for app in OUR_APPS)
    for entry in patterns if patterns is not None else admin.site.get_urls():
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            names |= admin_url_names(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and entry.name and route.startswith(ours):
            # (Django's unnamed `<object_id>/` only redirects to the change page.)
            names.add(entry.name)
    return names | {"app_list"}


def test_the_matrix_covers_every_admin_url_of_our_apps():
    names = admin_url_names()
    assert "backfill_job_action" in names and "snapshots_snapshot_raw" in names
    assert names == {case.name for case in CASES}


def client_for(role: str) -> Client:
    client = Client()
    user = {
        "anonymous": lambda: None,
        "staff": lambda: staff_member("bare", None),
        "viewer": lambda: staff_member("reader", VIEWERS),
        "operator": lambda: staff_member("ops", OPERATORS),
        "superuser": lambda: get_user_model().objects.create_superuser("root"),
    }[role]()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_each_role_gets_exactly_what_it_may(request, case, role):
    world = World(request)
    url = reverse(f"admin:{case.name}", args=case.args(world)) + case.query
    data = case.data(world)
    client = client_for(role)
    before = fingerprint()
    response = getattr(client, case.method)(url, data)
    code, location = response.status_code, response.get("Location", "")
    if role == "anonymous":
        assert code == 302 and location.startswith("/admin/login/"), (code, location)
    elif role in ALLOWED_ROLES[case.level]:
        assert code == case.allowed, (code, location)
        assert not location.startswith("/admin/login/")
    else:
        assert code in case.refused, (code, location)
    if role == "anonymous" or role not in ALLOWED_ROLES[case.level]:
        assert fingerprint() == before


def test_buttons_and_links_show_only_what_the_user_may_use(analytics_data):
    clients = {role: client_for(role) for role in ("staff", "viewer", "operator")}

    def page(role: str, url: str) -> str:
        response = clients[role].get(url)
        assert response.status_code == 200
        return response.content.decode()

    job = BackfillJobFactory(status=JobStatus.RUNNING)
    job_page = reverse("admin:backfill_backfilljob_change", args=[job.pk])
    new = reverse("admin:backfill_backfilljob_add")
    landing = reverse("admin:analytics_analyticsoutput_changelist")

    assert 'id="bf-overview"' not in page("staff", "/admin/")
    viewer_index = page("viewer", "/admin/")
    assert 'id="bf-overview"' in viewer_index and new not in viewer_index
    assert new in page("operator", "/admin/")

    viewer_job = page("viewer", job_page)
    assert "bf-cancel" not in viewer_job and "bf-pause" not in viewer_job and new not in viewer_job
    operator_job = page("operator", job_page)
    assert "bf-cancel" in operator_job and "bf-pause" in operator_job and new in operator_job

    assert 'id="bf-generate"' not in page("viewer", landing)
    assert 'id="bf-generate"' in page("operator", landing)

    config = RateLimitConfig.load()
    rate = reverse("admin:backfill_ratelimitconfig_change", args=[config.pk])
    assert 'name="_save"' not in page("viewer", rate)
    assert 'name="_save"' in page("operator", rate)


def test_a_cell_links_its_snapshot_only_for_who_may_open_it(request):
    world = World(request)
    snapshot = world.snapshot
    job = BackfillJobFactory(status=JobStatus.COMPLETED)
    BackfillUnitFactory(job=job, district_id="42", status=UnitStatus.SUCCEEDED)
    url = reverse("admin:backfill_job_cell", args=[job.pk]) + "?date=2025-03-10&district=42"
    jobs_only = staff_member("jobs-only", None)
    jobs_only.user_permissions.add(Permission.objects.get(codename="view_backfilljob"))
    client = Client()
    client.force_login(jobs_only)
    (unit,) = client.get(url).json()["units"]
    assert "snapshotUrl" not in unit
    (unit,) = client_for("viewer").get(url).json()["units"]
    assert unit["snapshotUrl"] == reverse(
        "admin:snapshots_snapshot_district", args=[snapshot.pk, "42"]
    )
