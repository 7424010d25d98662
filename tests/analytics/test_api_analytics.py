"""analytics/api.py: the analytics read endpoints over documents written per the spec
(tests/fixtures/analytics.py) in a private store, against the real database."""

from __future__ import annotations

import pytest
import schemathesis
from rest_framework.authtoken.models import Token

from analytics import documents
from backfill_project.wsgi import application
from tests.fixtures.analytics import district_series_document, store_document
from tests.fixtures.api import VIEWERS, staff_member

pytestmark = pytest.mark.django_db

INDEX = "/api/admin/analytics"
RANKINGS = "/api/admin/analytics/rankings"


def district(district_id: str) -> str:
    return f"/api/admin/analytics/districts/{district_id}"


# --- a district's time series ---------------------------------------------------------------


def test_a_district_answers_its_latest_program_year_as_stored_with_the_other_years(
    token_client, analytics_data
):
    response = token_client.get(district("42"))
    assert response.status_code == 200
    body = response.json()
    stored = documents.read_district_series(district_id="42", program_year="2024-2025")
    assert {k: v for k, v in body.items() if k in stored} == stored
    assert body["availableProgramYears"] == ["2024-2025", "2023-2024"]
    assert body["jobId"] == str(analytics_data.job.pk)
    assert body["generatedAt"].endswith("Z")
    assert len(body["series"]) == analytics_data.points_of("42") == body["snapshotDates"]
    assert body["missingDates"] == ["2024-08-03", "2024-12-25"]


def test_a_district_answers_the_program_year_asked_for(token_client, analytics_data):
    body = token_client.get(district("42"), {"programYear": "2023-2024"}).json()
    assert (body["programYear"], len(body["series"])) == ("2023-2024", 4)
    assert body["availableProgramYears"] == ["2024-2025", "2023-2024"]


@pytest.mark.parametrize(("given", "canonical"), [("042", "42"), ("f", "F"), (" 61", "61")])
def test_a_district_id_is_taken_in_any_accepted_form(
    token_client, analytics_data, given, canonical
):
    response = token_client.get(district(given))
    assert response.status_code == 200
    assert response.json()["districtId"] == canonical


@pytest.mark.parametrize("bad", ["4200", "4-2", "FF", "*"])
def test_a_malformed_district_id_is_a_400_naming_the_field(token_client, bad):
    response = token_client.get(district(bad))
    assert response.status_code == 400
    assert list(response.json()) == ["district_id"]
    assert "expected 1-3 digits or a letter" in response.json()["district_id"][0]


@pytest.mark.parametrize("bad", ["2024", "2024-2026", "2025-2024", "24-25", "2024_2025", ""])
def test_a_malformed_program_year_is_a_400_naming_the_field(token_client, bad):
    response = token_client.get(district("42"), {"programYear": bad})
    assert response.status_code == 400
    assert list(response.json()) == ["programYear"]


def test_a_district_without_analytics_is_a_404_that_says_how_to_generate_them(
    token_client, analytics_data
):
    response = token_client.get(district("7"))  # ranked, but no time series
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "analytics_not_found"
    assert body["availableProgramYears"] == []
    assert body["detail"].startswith("No analytics have been generated for district 7 yet.")
    assert "analytics-generation job" in body["detail"]


def test_a_program_year_not_generated_is_a_404_listing_the_generated_ones(
    token_client, analytics_data
):
    response = token_client.get(district("61"), {"programYear": "2023-2024"})
    assert response.status_code == 404
    body = response.json()
    assert body["availableProgramYears"] == ["2024-2025"]
    assert (
        "No analytics of district 61 for program year 2023-2024 (generated: 2024-2025)"
        in (body["detail"])
    )


def test_a_document_written_but_not_indexed_is_still_answered(token_client, snapshot_root):
    document = district_series_document(
        district_id="9", program_year="2022-2023", dates=[], missing=[]
    )
    row = store_document(document, job_id=None)
    row.delete()  # the files are the data; the index only lists them
    body = token_client.get(district("9"), {"programYear": "2022-2023"}).json()
    assert body["series"] == [] and body["summary"]["firstDate"] is None
    assert (body["availableProgramYears"], body["generatedAt"], body["jobId"]) == ([], None, None)


def test_an_unreadable_document_is_a_500_that_says_to_generate_it_again(
    token_client, analytics_data, snapshot_root
):
    path = snapshot_root / documents.district_series_name("61", "2024-2025")
    path.write_text("{not json")
    response = token_client.get(district("61"))
    assert response.status_code == 500
    assert "generate it again" in response.json()["detail"]


# --- the rankings of a date -----------------------------------------------------------------


def test_the_rankings_default_to_the_latest_date_with_its_neighbours(token_client, analytics_data):
    response = token_client.get(RANKINGS)
    assert response.status_code == 200
    body = response.json()
    assert body == {
        **documents.read_rankings(logical_date=analytics_data.ranking_dates[-1]),
        "previousDate": "2025-01-30",
        "nextDate": None,
        "availableDates": ["2025-01-29", "2025-01-30", "2025-01-31"],
        "generatedAt": body["generatedAt"],
        "jobId": str(analytics_data.job.pk),
    }
    assert [r["overallRank"] for r in body["rankings"]] == sorted(
        r["overallRank"] for r in body["rankings"]
    )


def test_the_rankings_of_a_date_link_the_dates_before_and_after(token_client, analytics_data):
    body = token_client.get(RANKINGS, {"date": "2025-01-29"}).json()
    assert (body["date"], body["previousDate"], body["nextDate"]) == (
        "2025-01-29",
        "2024-06-30",
        "2025-01-30",
    )
    body = token_client.get(RANKINGS, {"date": "2024-06-30"}).json()
    assert body["availableDates"] == ["2024-06-30"]  # the dates of its own program year
    assert body["programYear"] == "2023-2024"
    assert body["rankings"][0]["points"] == dict.fromkeys(documents.RANKING_CATEGORIES, 0)


@pytest.mark.parametrize("bad", ["2025-13-01", "20250131", "2025-W05-5", "yesterday", ""])
def test_a_malformed_date_is_a_400_naming_the_field(token_client, bad):
    response = token_client.get(RANKINGS, {"date": bad})
    assert response.status_code == 400
    assert list(response.json()) == ["date"]


def test_a_date_without_rankings_is_a_404_with_the_nearest_dates(token_client, analytics_data):
    response = token_client.get(RANKINGS, {"date": "2025-01-01"})
    assert response.status_code == 404
    body = response.json()
    assert (body["previousDate"], body["nextDate"]) == ("2024-06-30", "2025-01-29")
    assert body["detail"].startswith(
        "No rankings for 2025-01-01 (nearest generated: 2024-06-30, 2025-01-29)."
    )
    assert "analytics-generation job" in body["detail"]


def test_without_any_rankings_the_latest_is_a_404_that_says_how_to_generate_them(
    token_client, snapshot_root
):
    response = token_client.get(RANKINGS)
    assert response.status_code == 404
    assert response.json()["detail"].startswith("No rankings have been generated.")


# --- the index ------------------------------------------------------------------------------


def test_the_index_lists_districts_in_district_order_and_ranking_dates_per_year(
    token_client, analytics_data
):
    body = token_client.get(INDEX).json()
    assert body["districtTimeSeries"] == 4 and body["rankings"] == 4
    assert body["programYears"] == ["2024-2025", "2023-2024"]
    assert body["districts"] == [
        {"districtId": "42", "programYears": ["2024-2025", "2023-2024"]},
        {"districtId": "61", "programYears": ["2024-2025"]},
        {"districtId": "F", "programYears": ["2024-2025"]},
    ]
    assert body["rankingYears"] == [
        {
            "programYear": "2024-2025",
            "count": 3,
            "firstDate": "2025-01-29",
            "lastDate": "2025-01-31",
        },
        {
            "programYear": "2023-2024",
            "count": 1,
            "firstDate": "2024-06-30",
            "lastDate": "2024-06-30",
        },
    ]
    assert body["latestRankingDate"] == "2025-01-31"


def test_the_index_of_nothing_is_empty(token_client):
    body = token_client.get(INDEX).json()
    assert body["districts"] == [] and body["latestRankingDate"] is None
    assert (body["districtTimeSeries"], body["rankings"], body["lastGeneratedAt"]) == (0, 0, None)


# --- who may read ---------------------------------------------------------------------------

PATHS = [INDEX, RANKINGS, district("42")]


@pytest.mark.parametrize("path", PATHS)
def test_anonymous_clients_get_401_and_non_staff_403(client, user_client, path):
    assert client.get(path).status_code == 401
    assert user_client.get(path).status_code == 403


@pytest.mark.parametrize("path", PATHS)
def test_a_deactivated_users_token_is_refused(deactivated_token_client, path):
    assert deactivated_token_client.get(path).status_code == 401


@pytest.mark.parametrize("path", PATHS)
def test_staff_sessions_read_them_too(staff_client, analytics_data, path):
    assert staff_client.get(path).status_code == 200


# --- the schema -----------------------------------------------------------------------------

CHECKS = [
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


@pytest.mark.django_db(transaction=True)
def test_every_answer_matches_the_published_schema(analytics_data, django_user_model):
    """200, 400 and 404 bodies of real documents validate against /api/schema/."""
    user = staff_member("schema", VIEWERS)
    headers = {"Authorization": f"Token {Token.objects.create(user=user).key}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application, headers=headers)
    district_op = schema["/api/admin/analytics/districts/{district_id}"]["GET"]
    rankings_op = schema["/api/admin/analytics/rankings"]["GET"]
    cases = [
        (schema["/api/admin/analytics"]["GET"].Case(), 200),
        (district_op.Case(path_parameters={"district_id": "42"}), 200),
        (
            district_op.Case(
                path_parameters={"district_id": "42"}, query={"programYear": "2023-2024"}
            ),
            200,
        ),
        (district_op.Case(path_parameters={"district_id": "7"}), 404),
        (district_op.Case(path_parameters={"district_id": "42"}, query={"programYear": "x"}), 400),
        (rankings_op.Case(), 200),
        (rankings_op.Case(query={"date": "2024-06-30"}), 200),
        (rankings_op.Case(query={"date": "2025-01-01"}), 404),
    ]
    for case, expected in cases:
        response = case.call(headers=headers)
        assert response.status_code == expected, (case.path, case.query, response.text[:300])
        case.validate_response(response, checks=CHECKS, headers=headers)
