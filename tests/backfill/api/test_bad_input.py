"""Bad input is a 4xx with a short message: over-deep JSON, over-large bodies, over-long
integers and values echoed back in errors on every JSON write endpoint, and ids the admin's
URLs cannot look up."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import URLPattern, reverse

from backfill_project.parsers import MAX_DEPTH, nesting_depth

# Every endpoint that reads a JSON body, with its method.
WRITE_ENDPOINTS = [
    ("post", reverse("backfill-job-create")),
    ("post", reverse("backfill-preview")),
    ("put", reverse("backfill-rate-limit-config")),
    ("patch", reverse("backfill-rate-limit-config")),
    ("post", reverse("legacy-backfill-create")),
    ("post", reverse("legacy-district-backfill-create", args=["42"])),
]
DEEP_BODIES = {
    "arrays 5,000 deep": "[" * 5000 + "]" * 5000,
    "objects 2,000 deep": '{"a":' * 2000 + "1" + "}" * 2000,
    "a field 3,000 deep": '{"startDate": ' + "[" * 3000 + "]" * 3000 + "}",
    "arrays 500 deep": "[" * 500 + "]" * 500,
}


def _send(client, method: str, path: str, body: str | bytes):
    return getattr(client, method)(path, body, content_type="application/json")


def _error(path: str, code: str, message: str) -> dict:
    """The answer's body: the legacy routes speak the old backend's error shape."""
    if path.startswith("/api/districts/"):
        return {"error": {"code": code, "message": message, "details": {}}}
    return {"detail": message}


@pytest.mark.parametrize("method,path", WRITE_ENDPOINTS)
@pytest.mark.parametrize("body", DEEP_BODIES.values(), ids=DEEP_BODIES.keys())
def test_deeply_nested_json_is_a_400_on_every_write_endpoint(staff_client, method, path, body):
    response = _send(staff_client, method, path, body)
    assert response.status_code == 400, response.content[:200]
    assert response.json() == _error(
        path, "MALFORMED_REQUEST", f"JSON nested too deeply: at most {MAX_DEPTH} levels."
    )


@pytest.mark.parametrize("method,path", WRITE_ENDPOINTS)
def test_a_body_over_the_upload_limit_is_a_413(staff_client, settings, method, path):
    body = json.dumps({"startDate": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)})
    response = _send(staff_client, method, path, body)
    assert response.status_code == 413
    assert response.json() == _error(
        path,
        "PAYLOAD_TOO_LARGE",
        f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes.",
    )


@pytest.mark.parametrize("sign", ["", "-"])
def test_an_integer_of_5000_digits_is_a_short_field_error(staff_client, sign):
    body = f'{{"startDate": "2025-01-06", "concurrency": {sign}{"9" * 5000}}}'
    response = _send(staff_client, "post", reverse("backfill-preview"), body)
    assert response.status_code == 400
    bound = "less than or equal to 32" if not sign else "greater than or equal to 1"
    assert response.json() == {"concurrency": [f"Ensure this value is {bound}."]}
    body = f'{{"maxRequests": 1{"0" * 5000}}}'
    config = _send(staff_client, "patch", reverse("backfill-rate-limit-config"), body)
    assert config.json() == {"maxRequests": ["Ensure this value is less than or equal to 100000."]}


def test_echoed_values_are_cut_to_64_characters(staff_client):
    body = json.dumps(
        {
            "startDate": "x" * 2_000_000,
            "targetDistricts": ["z" * 1000, "ok'" + "q" * 500],
            "collectionType": "c" * 1000,
            "k" * 10_000: 1,
        }
    )
    response = _send(staff_client, "post", reverse("backfill-preview"), body)
    assert response.status_code == 400
    assert len(response.content) < 1500, len(response.content)
    errors = response.json()
    cut = "\u2026"
    assert errors["startDate"] == [f"Invalid date '{'x' * 64}{cut}': use an ISO date, YYYY-MM-DD."]
    assert errors["targetDistricts"][0].startswith(f"Invalid district id '{'z' * 64}{cut}'")
    assert errors["targetDistricts"][1].startswith(f'Invalid district id "ok\'{"q" * 61}{cut}"')
    assert errors["collectionType"] == [f'"{"c" * 64}{cut}" is not a valid choice.']
    assert errors["k" * 64 + cut] == ["Unknown field."]
    # The same in a path: the id is echoed in the 404's message.
    missing = staff_client.get(reverse("backfill-job-detail", args=["j" * 3000]))
    assert missing.status_code == 404
    assert missing.json() == {"detail": f"No backfill job with id {'j' * 64}{cut}"}


def test_short_values_are_echoed_whole(staff_client):
    response = _send(
        staff_client, "post", reverse("backfill-preview"), '{"startDate": "2025-13-01"}'
    )
    assert response.json() == {
        "startDate": ["Invalid date '2025-13-01': use an ISO date, YYYY-MM-DD."]
    }


@pytest.mark.parametrize(
    "text,depth",
    [
        ("{}", 1),
        ('{"a": [1, {"b": []}]}', 4),
        ('"[[[[["', 0),
        ('["\\"[[[[", "\\\\", [[]]]', 3),
        ("1", 0),
    ],
)
def test_nesting_depth_ignores_brackets_inside_strings(text, depth):
    assert nesting_depth(text) == depth


# --- the admin --------------------------------------------------------------------------------

BAD_VALUES = {
    "int": ["99999999999999999999999"],
    "uuid": [str(uuid.uuid4())],
    "str": ["abc", "2025-99-99", "99999999999999999999999", "x" * 300],
    "path": ["abc", "2025-99-99", "99999999999999999999999", "x" * 300, "-1"],
}
_PARAMETER = re.compile(r"<(?:(\w+):)?\w+>")


def _admin_urls() -> list[str]:
    """Every URL of every registered model admin, with each parameter replaced by values that do
    not name an object (not a number, out of range, an impossible date, too long)."""
    urls = []
    for model, model_admin in admin.site._registry.items():
        prefix = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for pattern in model_admin.get_urls():
            if not isinstance(pattern, URLPattern):
                continue
            route = str(pattern.pattern)
            converters = [m[1] or "str" for m in _PARAMETER.finditer(route)]
            if not converters:
                continue
            for i in range(max(len(BAD_VALUES[c]) for c in converters)):
                values = iter([BAD_VALUES[c][i % len(BAD_VALUES[c])] for c in converters])
                urls.append(prefix + _PARAMETER.sub(lambda _, v=values: next(v), route))
    return urls


def test_admin_urls_answer_404_for_ids_that_name_no_object(admin_client):
    urls = _admin_urls()
    assert any("/snapshots/snapshot/abc/change/" in url for url in urls)
    assert len(urls) > 40
    server_errors = []
    for url in urls:
        for method in ("get", "post"):
            status = getattr(admin_client, method)(url).status_code
            if status >= 500 or (status == 200 and method == "get" and "/change/" in url):
                server_errors.append(f"{method.upper()} {url[:90]}: {status}")
    assert server_errors == []


def test_the_admin_form_and_the_command_cut_echoed_values_too(admin_client, capsys):
    response = admin_client.post(
        reverse("admin:backfill_backfilljob_add"),
        {
            "step": "preview",
            "job_type": "data-collection",
            "start_date": "2025-03-10",
            "target_districts": "z" * 5000,
            "collection_type": "auto",
            "concurrency": 3,
        },
    )
    [message] = response.context["form"].errors["target_districts"]
    assert message.startswith(f"Invalid district id '{'z' * 64}\u2026'")
    with pytest.raises(CommandError) as refused:
        call_command("backfill", "--start", "2025-03-10", "--districts", "y" * 5000, "--dry-run")
    assert str(refused.value).startswith(f"targetDistricts: Invalid district id '{'y' * 64}\u2026'")
