"""The request contract of the site's job types (backfill/site_contract.py): publish and import
take their own fields, refuse the ones that steer requests to the dashboard, and the other job
types take neither a destination nor a site's URL as their source."""

from __future__ import annotations

import pytest
from rest_framework.exceptions import ValidationError

from backfill.contracts import backfill_request
from backfill.models import JobType


def errors(body: dict) -> dict:
    with pytest.raises(ValidationError) as error:
        backfill_request(body)
    return error.value.detail


def test_a_publish_without_destination_and_no_default_names_destination(settings):
    settings.PUBLISH_DESTINATION = ""
    found = errors({"jobType": "publish"})
    assert set(found) == {"destination"}
    assert "PUBLISH_DESTINATION" in str(found["destination"][0])


def test_a_publish_destination_defaults_to_the_setting(settings):
    settings.PUBLISH_DESTINATION = "file:///srv/cdn"
    request = backfill_request({"jobType": "publish"})
    assert request.job_type == JobType.PUBLISH
    assert request.destination == "file:///srv/cdn"
    assert (request.start_date, request.end_date) == (None, None)
    assert request.as_json()["destination"] == "file:///srv/cdn"


def test_a_publish_names_its_own_destination(settings):
    settings.PUBLISH_DESTINATION = "file:///srv/cdn"
    request = backfill_request(
        {"jobType": "publish", "startDate": "2025-03-10", "destination": "gs://site-data/v2"}
    )
    assert request.destination == "gs://site-data/v2"
    assert request.end_date == request.start_date


@pytest.mark.parametrize("destination", ["ftp://host/dir", "file://host/dir", "s3:///prefix"])
def test_a_destination_in_another_form_is_refused(destination):
    found = errors({"jobType": "publish", "destination": destination})
    assert set(found) == {"destination"}


def test_publish_refuses_every_field_that_steers_the_dashboard_or_picks_districts(settings):
    settings.PUBLISH_DESTINATION = "file:///srv/cdn"
    found = errors(
        {
            "jobType": "publish",
            "collectionType": "per-district",
            "rateLimitDelayMs": 100,
            "reprocess": "all",
            "collectSummary": False,
            "targetDistricts": ["42"],
            "source": "archive",
        }
    )
    assert set(found) == {
        "collectionType",
        "rateLimitDelayMs",
        "reprocess",
        "collectSummary",
        "targetDistricts",
        "source",
    }


def test_an_import_needs_the_site_as_its_source():
    assert set(errors({"jobType": "import"})) == {"source"}


@pytest.mark.parametrize(
    "source", ["file:///srv/cdn", "/srv/cdn", "s3://bucket/prefix", "gs://bucket"]
)
def test_an_import_reads_a_directory_or_a_bucket(source):
    assert backfill_request({"jobType": "import", "source": source}).source == source


@pytest.mark.parametrize("source", ["https://example.org/cdn", "gs://", "archive", "relative/dir"])
def test_an_import_source_in_another_form_is_refused(source):
    assert set(errors({"jobType": "import", "source": source})) == {"source"}


def test_an_import_takes_no_destination():
    found = errors({"jobType": "import", "source": "/srv/cdn", "destination": "file:///x"})
    assert set(found) == {"destination"}


def test_the_other_job_types_take_neither_a_destination_nor_a_site_as_source():
    found = errors(
        {"startDate": "2025-03-10", "destination": "file:///x", "source": "file:///srv/cdn"}
    )
    assert set(found) == {"destination", "source"}
    found = errors({"jobType": "analytics-generation", "source": "gs://bucket"})
    assert set(found) == {"source"}


def test_the_dates_of_a_site_job_are_checked_like_any_other(settings):
    settings.PUBLISH_DESTINATION = "file:///srv/cdn"
    found = errors({"jobType": "publish", "startDate": "2025-03-11", "endDate": "2025-03-10"})
    assert set(found) == {"endDate"}
    found = errors({"jobType": "import", "source": "/srv/cdn", "startDate": "2999-01-01"})
    assert set(found) == {"startDate"}
