"""Schemathesis: every operation of /api/schema/ with generated input, with and without
credentials, with every check schemathesis has (server errors, status codes, content types,
headers, bodies, negative data rejected, positive data accepted, missing headers, unsupported
methods, auth ignored, ...), then the stateful phase: chains of calls that follow the schema's
links from a created job to its status, cancel, pause, resume and retry with real ids. 0
failures. Bounded (`MAX_EXAMPLES` per operation and role, `STATEFUL_EXAMPLES` chains) to fit
`make test`; the number of requests is printed at the end.

Positive data may be refused with a 400 for what a JSON schema cannot state: a date in the future
or before the dashboard's first day, an end before the start, a range over the maximum, districts
outside the configured scope (`POSITIVE_ALSO_REFUSED`).

Requests go through Django's WSGI application in this process; the database is the test
database (transactional: the WSGI handler closes connections after each request) and messages
to Celery are dropped (no worker is needed to check what the API answers).
"""

from __future__ import annotations

import logging

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.throttling import ScopedRateThrottle
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS as REGISTERED_CHECKS
from schemathesis.checks import load_all_checks
from schemathesis.config import SchemathesisConfig

from backfill.models import BackfillJob, IdempotencyKey
from backfill.services import broker
from backfill_project.wsgi import application
from tests.fixtures.api import staff_member

MAX_EXAMPLES = 15
# Chains: 100 once drew none to a job's status with a real id (which links a bounded run
# follows varies with the answers, so with what ran before it in the process); 150 keep a margin.
STATEFUL_EXAMPLES = 150
REQUESTS: dict[str, int] = {"count": 0, "5xx": 0}
load_all_checks()
CHECKS = REGISTERED_CHECKS.get_all()
# A hostile body replaces a generated one: only what the answer must be, whatever was sent.
RESPONSE_CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]
POSITIVE_ALSO_REFUSED = "400"
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                # 304: a generated If-None-Match (`*`) matches the job's ETag, as it should.
                "expected-statuses": [
                    "2xx",
                    "304",
                    "401",
                    "403",
                    "404",
                    "409",
                    POSITIVE_ALSO_REFUSED,
                ]
            }
        }
    }
)


@pytest.fixture
def api_schema(transactional_db, monkeypatch, snapshot_root, analytics_data, staff_token):
    # With analytics documents stored, the analytics endpoints answer 200s to check too.
    monkeypatch.setattr(broker, "send", lambda *args, **kwargs: None)
    # Thousands of expected 4xx answers would drown the output; 5xx are counted below.
    monkeypatch.setattr(logging.getLogger("django.request"), "level", logging.CRITICAL)
    # The write throttle is tested on its own (test_api.py); here it would only answer 429.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"backfill-write": "100000/min"})
    # The schema, like the API, is for staff.
    headers = {"Authorization": f"Token {staff_token}"}
    return schemathesis.openapi.from_wsgi(
        "/api/schema/", application, config=CONFIG, headers=headers
    )


@pytest.fixture
def staff_token(transactional_db, django_user_model) -> str:
    user = staff_member("fuzz")
    return Token.objects.create(user=user).key


def fuzz(api_schema, headers: dict[str, str] | None, check=None) -> list[str]:
    """Run every operation with generated valid and invalid input; return the failures."""
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 25
    for operation in operations:
        strategy = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @given(case=strategy)
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case):
            response = case.call(headers=headers)
            REQUESTS["count"] += 1
            REQUESTS["5xx"] += response.status_code >= 500
            case.validate_response(response, checks=CHECKS, headers=headers)
            if check:
                check(case, response)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # every operation's failure is reported
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    return failures


def test_staff_requests_never_fail_and_match_the_schema(api_schema, staff_token):
    failures = fuzz(api_schema, {"Authorization": f"Token {staff_token}"})
    assert failures == [], "\n\n".join(failures)


def test_requests_without_credentials_are_refused_and_match_the_schema(api_schema):
    def refused(case, response):
        assert response.status_code == 401, (case.method, case.path, response.status_code)

    failures = fuzz(api_schema, None, refused)
    assert failures == [], "\n\n".join(failures)


def test_stateful_chains_follow_the_links_from_create_with_real_ids(api_schema, staff_token):
    """The stateful phase: create a job, then its status, cancel, pause, resume and retry
    through the schema's links, every answer under every check. The linked calls reach real
    jobs (not only 404s)."""
    headers = {"Authorization": f"Token {staff_token}"}
    reached: dict[str, set[int]] = {}

    class Chains(api_schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"headers": headers}

        def teardown(self):
            # Each chain starts from the same store: the links a chain may follow depend on
            # the answers, and Hypothesis replays a chain expecting the same ones.
            super().teardown()
            BackfillJob.objects.all().delete()
            IdempotencyKey.objects.all().delete()

        def after_call(self, response, case):
            REQUESTS["count"] += 1
            REQUESTS["5xx"] += response.status_code >= 500
            reached.setdefault(case.operation.definition.raw["operationId"], set()).add(
                response.status_code
            )

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, headers=headers, recorder=self.recorder)

    Chains.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=10,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
    )
    print(f"\nstateful: {sorted((k, sorted(v)) for k, v in reached.items())}")
    # Without the links only random ids reach these (404s). Pause, resume and retry sit behind
    # the same links; whether a bounded run draws a chain to them with a real id varies with
    # what ran before it in the process.
    for operation in (
        "backfill_job_retrieve",
        "backfill_job_cancel",
        "legacy_backfill_retrieve",
        "legacy_backfill_cancel",
    ):
        assert reached.get(operation, set()) - {404}, (operation, reached)


# Bodies no generator makes: nesting far past the parser's limit, a field value of 2 MB, a body
# over DATA_UPLOAD_MAX_MEMORY_SIZE, an integer of 5,000 digits.
HOSTILE_BODIES = {
    "arrays 5,000 deep": "[" * 5000 + "]" * 5000,
    "objects 3,000 deep": '{"a":' * 3000 + "1" + "}" * 3000,
    "a 2 MB string": '{"startDate": "' + "x" * 2_000_000 + '"}',
    "a 3 MB body": '{"startDate": "' + "x" * 3_000_000 + '"}',
    "a 5,000-digit integer": '{"concurrency": ' + "9" * 5000 + "}",
}


def test_deep_and_huge_bodies_are_4xx_with_a_short_body(api_schema, staff_token):
    """Every operation that takes a JSON body, with each hostile body: a documented 4xx whose
    body stays under 1 KB (no value echoed whole), never a 5xx."""
    headers = {"Authorization": f"Token {staff_token}", "Content-Type": "application/json"}
    operations = [
        result.ok()
        for result in api_schema.get_all_operations()
        if result.ok().definition.raw.get("requestBody")
    ]
    assert len(operations) >= 6
    failures: list[str] = []
    for operation in operations:
        for name, body in HOSTILE_BODIES.items():
            try:
                _send_hostile(operation, headers, body)()
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.method.upper()} {operation.path}, {name}: {exc}")
    assert failures == []


def _send_hostile(operation, headers: dict[str, str], body: str):
    """A test sending `body` instead of the body of one generated valid case (path and query
    parameters generated as usual)."""

    @given(case=operation.as_strategy(GenerationMode.POSITIVE))
    @settings(
        max_examples=1,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case):
        response = case.call(headers=headers, data=body.encode())
        REQUESTS["count"] += 1
        REQUESTS["5xx"] += response.status_code >= 500
        assert 400 <= response.status_code < 500, response.status_code
        assert len(response.content) < 1024, response.content[:200]
        case.validate_response(response, checks=RESPONSE_CHECKS, headers=headers)

    return run


def test_zz_report_the_number_of_generated_requests(capsys):
    """Printed for the record (`pytest -s`); runs after the generated tests in this module."""
    with capsys.disabled():
        print(f"\nschemathesis: {REQUESTS['count']} requests, {REQUESTS['5xx']} with a 5xx status")
    assert REQUESTS["5xx"] == 0


@pytest.fixture
def published(staff_client) -> dict:
    return staff_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()


def _operation(published: dict, operation_id: str) -> dict:
    return next(
        operation
        for operations in published["paths"].values()
        for operation in operations.values()
        if isinstance(operation, dict) and operation.get("operationId") == operation_id
    )


def test_request_bodies_refuse_unknown_fields_and_state_when_start_date_is_required(published):
    schemas = published["components"]["schemas"]
    for name in ("BackfillRequestRequest", "RateLimitConfigRequest"):
        assert schemas[name]["additionalProperties"] is False, name
    backfill = schemas["BackfillRequestRequest"]
    assert {"required": ["startDate"], "properties": {"startDate": {"type": "string"}}} in (
        backfill["anyOf"]
    )
    assert backfill["properties"]["concurrency"]["type"] == "integer"
    assert backfill["properties"]["targetDistricts"]["items"]["type"] == "string"


def test_parameters_carry_their_bounds_and_patterns(published):
    patterns = {}
    limits = {}
    for path, operations in published["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter["in"] == "path" and parameter["name"] not in ("job_id", "backfill_id"):
                    patterns.setdefault(parameter["name"], set()).add(
                        parameter["schema"].get("pattern")
                    )
                if parameter["name"] == "limit":
                    limits[path] = (parameter["schema"]["minimum"], parameter["schema"]["maximum"])
    assert patterns["date"] == {r"^\d{4}-\d{2}-\d{2}$"}
    assert patterns["district_id"] == {r"^\s*(?:\d{1,3}|[A-Za-z])\s*$"}
    district = published["paths"]["/api/admin/analytics/districts/{district_id}"]["get"]
    program_year = next(p for p in district["parameters"] if p["name"] == "programYear")
    assert program_year["schema"]["pattern"] == r"^\d{4}-\d{4}$"
    assert limits["/api/admin/snapshots"] == (1, 1000)
    assert limits["/api/admin/backfill/jobs"] == (1, 500)


def test_create_documents_its_location_and_links_to_the_job_operations(published):
    created = _operation(published, "backfill_job_create")["responses"]["202"]
    assert created["headers"]["Location"]["required"] is True
    assert {name: link["operationId"] for name, link in created["links"].items()} == {
        "status": "backfill_job_retrieve",
        "cancel": "backfill_job_cancel",
        "pause": "backfill_job_pause",
        "resume": "backfill_job_resume",
        "retry": "backfill_job_retry",
    }
    assert created["links"]["pause"]["parameters"] == {"job_id": "$response.body#/jobId"}
    legacy = _operation(published, "legacy_backfill_create")["responses"]["202"]["links"]
    assert legacy["status"]["parameters"] == {"backfill_id": "$response.body#/backfillId"}
