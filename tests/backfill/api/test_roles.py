"""The role matrix: every route under /api/ x every method it serves x every role.

Routes are found by walking the URL resolver, so a new endpoint is covered without editing this
file. Expected: anonymous -> 401, a deactivated user's token -> 401, authenticated non-staff ->
403, staff without any permission -> 403, a *Backfill viewers* token -> reads (GET) but 403 on
every write, *Backfill operators* (session or token) and a superuser -> neither. The schema and
its docs page need staff, no permission (test_the_schema_and_its_docs_need_staff).
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from backfill.services import broker
from tests.factories import BackfillJobFactory
from tests.fixtures.api import token_client_of

pytestmark = pytest.mark.django_db
DOCS = {"api/schema/", "api/docs/"}
METHODS = ("get", "post", "put", "patch", "delete")


def api_routes(patterns=None, prefix: str = "") -> list[tuple[str, type]]:
    routes = []
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            routes += api_routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and route.startswith("api/"):
            routes.append((route, entry.callback.cls))
    return routes


def concrete(route: str, job_id: str) -> str:
    values = {
        "job_id": job_id,
        "backfill_id": job_id,
        "districtId": "42",
        "district_id": "42",
        "date": "2025-03-10",
    }
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], route)


def calls() -> list[tuple[str, str, type]]:
    return [
        (route, method, view)
        for route, view in api_routes()
        if route not in DOCS
        for method in METHODS
        if hasattr(view, method)
    ]


CALLS = calls()


def test_the_matrix_covers_every_backfill_endpoint():
    routes = {route for route, _, _ in CALLS}
    assert "api/admin/backfill" in routes and "api/admin/backfill/<str:job_id>/pause" in routes
    assert "api/districts/<str:district_id>/backfill/<str:backfill_id>" in routes
    assert len(CALLS) >= 20


@pytest.fixture(autouse=True)
def no_broker(monkeypatch, snapshot_root):
    monkeypatch.setattr(broker, "send", lambda *args, **kwargs: None)


@pytest.fixture
def superuser_token_client(db) -> APIClient:
    return token_client_of(get_user_model().objects.create_superuser("root"))


ALLOWED = None  # anything but a refusal or a server error
READS = "reads"  # GET allowed, every other method 403


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("anonymous", {401}),
        ("deactivated_token_client", {401}),
        ("user_client", {403}),
        ("unpermitted_token_client", {403}),
        ("viewer_token_client", READS),
        ("staff_client", ALLOWED),
        ("token_client", ALLOWED),
        ("superuser_token_client", ALLOWED),
    ],
)
def test_no_role_gets_more_than_it_should(request, role, expected):
    client = APIClient() if role == "anonymous" else request.getfixturevalue(role)
    job = BackfillJobFactory(scope={"targetDistricts": ["42"]})
    unexpected = []
    for route, method, _ in CALLS:
        url = concrete(route, str(job.pk))
        response = getattr(client, method)(url, {}, format="json")
        code = response.status_code
        allowed = code not in (401, 403) and code < 500
        if expected is READS:
            ok = allowed if method == "get" else code == 403
        else:
            ok = allowed if expected is ALLOWED else code in expected
        if not ok:
            unexpected.append((method.upper(), url, code))
    assert unexpected == []


def test_a_viewer_changes_nothing_and_an_operator_can(viewer_token_client, token_client):
    """The writes a viewer is refused are the ones that work for an operator."""
    job = BackfillJobFactory(status="running", scope={"targetDistricts": ["42"]})
    pause = f"/api/admin/backfill/{job.pk}/pause"
    rate = "/api/admin/backfill/config/rate-limit"
    assert viewer_token_client.post(pause).status_code == 403
    assert viewer_token_client.patch(rate, {"maxRequests": 5}, format="json").status_code == 403
    job.refresh_from_db()
    assert job.status == "running"
    assert viewer_token_client.get(rate).json()["maxRequests"] == 10

    assert token_client.post(pause).status_code == 202
    assert token_client.patch(rate, {"maxRequests": 5}, format="json").status_code == 200
    job.refresh_from_db()
    assert job.status == "paused"
    assert viewer_token_client.get(rate).json()["maxRequests"] == 5


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("anonymous", 401),
        ("deactivated_token_client", 401),
        ("user_client", 403),
        ("unpermitted_token_client", 200),
        ("viewer_token_client", 200),
        ("staff_client", 200),
    ],
)
def test_the_schema_and_its_docs_need_staff(request, role, expected):
    """They were public: the schema and the docs page answer staff only, like the API."""
    client = APIClient() if role == "anonymous" else request.getfixturevalue(role)
    for route in sorted(DOCS):
        assert client.get(f"/{route}").status_code == expected, route


def test_the_docs_page_loads_swagger_ui_from_this_server(staff_client):
    """It loaded Swagger UI from a CDN, unpinned: blank offline. Its scripts and styles are
    now static files of this project, found where the page points."""
    from django.contrib.staticfiles import finders
    from django.templatetags.static import static

    page = staff_client.get("/api/docs/").content.decode()
    assert "cdn" not in page.lower() and "//unpkg" not in page
    for name in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"):
        path = f"drf_spectacular_sidecar/swagger-ui-dist/{name}"
        assert static(path) in page, name
        assert finders.find(path), name
