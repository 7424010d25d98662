"""backfill/contracts.py: the one input contract of a backfill request."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from backfill.contracts import backfill_request, error_messages

VALID = {"startDate": "2025-03-10", "skipExisting": False}


def field_errors(data: dict) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        backfill_request(data)
    return error_messages(caught.value)


# field errors


def test_missing_start_date_is_a_start_date_error():
    assert "required" in field_errors({})["startDate"][0]


def test_empty_start_date_is_a_start_date_error():
    assert "startDate" in field_errors({"startDate": ""})


@pytest.mark.parametrize("raw", ["2025-13-01", "10/03/2025", "yesterday"])
def test_invalid_start_date_is_a_start_date_error(raw):
    errors = field_errors({"startDate": raw})
    assert list(errors) == ["startDate"]
    assert "YYYY-MM-DD" in errors["startDate"][0]


def test_invalid_end_date_is_an_end_date_error():
    assert list(field_errors({**VALID, "endDate": "2025-02-30"})) == ["endDate"]


def test_end_date_before_start_date_is_an_end_date_error():
    errors = field_errors({"startDate": "2025-03-10", "endDate": "2025-03-09"})
    assert "before startDate" in errors["endDate"][0]


def test_end_date_in_the_future_is_an_end_date_error():
    tomorrow = timezone.localdate() + timedelta(days=1)
    errors = field_errors({"startDate": "2025-03-10", "endDate": tomorrow.isoformat()})
    assert any("in the future" in m for m in errors["endDate"])


@pytest.mark.parametrize("job_type", ["data-collection", "analytics-generation"])
def test_an_error_on_a_defaulted_end_date_names_the_start_date_the_client_sent(job_type):
    """`{"startDate": "2099-01-01"}` sent no endDate: the error names startDate only."""
    errors = field_errors({"jobType": job_type, "startDate": "2099-01-01"})
    assert list(errors) == ["startDate"]
    assert errors["startDate"][0].startswith("startDate 2099-01-01 is in the future")
    errors = field_errors({"jobType": job_type, "startDate": "2001-01-01"})
    assert list(errors) == ["startDate"]


def test_the_date_order_error_is_reported_beside_the_field_errors():
    errors = field_errors(
        {"startDate": "2025-03-10", "endDate": "2025-03-01", "concurrency": "3", "extra": 1}
    )
    assert set(errors) == {"endDate", "concurrency", "extra"}
    assert "before startDate" in errors["endDate"][0]


def test_a_missing_start_date_is_reported_beside_the_field_errors():
    assert set(field_errors({"concurrency": 0, "retryFailures": "yes"})) == {
        "startDate",
        "concurrency",
        "retryFailures",
    }


def test_a_bad_start_date_is_reported_once_with_the_other_field_errors():
    errors = field_errors({"startDate": "nope", "endDate": "2025-03-01", "concurrency": 0})
    assert set(errors) == {"startDate", "concurrency"}
    assert len(errors["startDate"]) == 1


def test_today_is_accepted():
    today = timezone.localdate()
    assert backfill_request({"startDate": today.isoformat()}).end_date == today


def test_a_range_entirely_before_program_year_2008_2009_is_an_end_date_error():
    errors = field_errors({"startDate": "2008-06-29", "endDate": "2008-06-30"})
    assert "2008-07-01" in errors["endDate"][0]


def test_a_range_reaching_program_year_2008_2009_may_start_before_it():
    assert backfill_request({"startDate": "2008-06-29", "endDate": "2008-07-01"})


def test_first_day_of_program_year_2008_2009_is_accepted():
    assert backfill_request({"startDate": "2008-07-01"}).start_date == date(2008, 7, 1)


def test_range_longer_than_the_maximum_is_an_end_date_error(settings):
    settings.BACKFILL_MAX_RANGE_DAYS = 5
    errors = field_errors({"startDate": "2025-03-01", "endDate": "2025-03-06"})
    assert "more than 5 days" in errors["endDate"][0]


def test_range_of_exactly_the_maximum_is_accepted(settings):
    settings.BACKFILL_MAX_RANGE_DAYS = 5
    request = backfill_request({"startDate": "2025-03-01", "endDate": "2025-03-05"})
    assert request.end_date == date(2025, 3, 5)


@pytest.mark.parametrize("bad", [0, 42, 4.2, True, None, ["42"], {"id": "42"}])
def test_a_district_id_that_is_not_a_string_is_a_target_districts_error(bad):
    """`targetDistricts: [0]` is refused, not read as district "0"."""
    errors = field_errors({**VALID, "targetDistricts": ["42", bad]})
    assert list(errors) == ["targetDistricts"]


@pytest.mark.parametrize("bad", ["1234", "AB", "4a", "", "-1", "4 2"])
def test_bad_district_id_is_a_target_districts_error(bad):
    errors = field_errors({**VALID, "targetDistricts": ["42", bad]})
    assert list(errors) == ["targetDistricts"]
    assert "Invalid district id" in errors["targetDistricts"][0]


def test_target_districts_that_is_not_a_list_is_a_target_districts_error():
    assert "targetDistricts" in field_errors({**VALID, "targetDistricts": "42"})


def test_unknown_collection_type_is_a_collection_type_error():
    assert "collectionType" in field_errors({**VALID, "collectionType": "everything"})


def test_unknown_job_type_is_a_job_type_error():
    assert "jobType" in field_errors({**VALID, "jobType": "cleanup"})


@pytest.mark.parametrize("value", [0, 11, -1, "3", 2.5, True])
def test_concurrency_out_of_bounds_or_not_an_integer_is_a_concurrency_error(value):
    assert list(field_errors({**VALID, "concurrency": value})) == ["concurrency"]


@pytest.mark.parametrize("value", [1, 10])
def test_concurrency_bounds_are_inclusive(value):
    assert backfill_request({**VALID, "concurrency": value}).concurrency == value


@pytest.mark.parametrize("value", [-1, 60_001, "100", 1.5])
def test_rate_limit_delay_out_of_bounds_is_a_rate_limit_delay_error(value):
    assert list(field_errors({**VALID, "rateLimitDelayMs": value})) == ["rateLimitDelayMs"]


@pytest.mark.parametrize("value", [0, 60_000, None])
def test_rate_limit_delay_bounds_are_inclusive_and_null_means_none(value):
    assert backfill_request({**VALID, "rateLimitDelayMs": value}).rate_limit_delay_ms == (value)


@pytest.mark.parametrize("name", ["retryFailures", "skipExisting", "enableCaching"])
@pytest.mark.parametrize("value", ["true", 1, 0, None, "no"])
def test_boolean_options_accept_only_true_or_false(name, value):
    errors = field_errors({**VALID, name: value})
    assert errors[name] == ["Must be true or false."]


def test_unknown_field_is_named_in_the_errors():
    errors = field_errors({**VALID, "districts": ["42"]})
    assert errors == {"districts": ["Unknown field."]}


def test_every_bad_field_is_reported_at_once():
    errors = field_errors(
        {"startDate": "nope", "concurrency": 0, "collectionType": "x", "enableCaching": "y"}
    )
    assert set(errors) == {"startDate", "concurrency", "collectionType", "enableCaching"}


# defaults and normalization


def test_defaults_of_a_minimal_request():
    request = backfill_request({"startDate": "2025-03-10"})
    assert request.end_date == request.start_date == date(2025, 3, 10)
    assert request.target_districts == ()
    assert request.collection_type == "auto"
    assert request.job_type == "data-collection"
    assert request.concurrency == 3
    assert request.retry_failures is True
    assert request.skip_existing is True
    assert request.enable_caching is True
    assert request.rate_limit_delay_ms is None


def test_target_ids_are_canonical_and_deduplicated():
    request = backfill_request({**VALID, "targetDistricts": ["02", "f", "2", "F", "61"]})
    assert request.target_districts == ("2", "F", "61")


def test_as_json_round_trips_through_the_contract():
    request = backfill_request(
        {**VALID, "endDate": "2025-03-12", "targetDistricts": ["42"], "rateLimitDelayMs": 500}
    )
    assert backfill_request(request.as_json()) == request


@pytest.mark.parametrize(
    "raw", ["2025-W11-1", "20250310", "2025-3-10", "2025-03-10T00:00", 20250310]
)
def test_only_the_extended_calendar_date_form_is_a_date(raw):
    errors = field_errors({"startDate": raw})
    assert list(errors) == ["startDate"]
    assert "YYYY-MM-DD" in errors["startDate"][0]


@pytest.mark.parametrize(
    ("fields", "reprocess", "skip_existing"),
    [
        ({}, "missing", True),
        ({"skipExisting": True}, "missing", True),
        ({"skipExisting": False}, "all", False),
        ({"reprocess": "failed"}, "failed", True),
        ({"reprocess": "all"}, "all", False),
        # reprocess wins when the two disagree
        ({"reprocess": "missing", "skipExisting": False}, "missing", True),
        ({"reprocess": "all", "skipExisting": True}, "all", False),
    ],
)
def test_reprocess_defaults_to_missing_and_wins_over_skip_existing(
    fields, reprocess, skip_existing
):
    request = backfill_request({"startDate": "2025-03-10", **fields})
    assert (request.reprocess, request.skip_existing) == (reprocess, skip_existing)


def test_unknown_reprocess_choice_is_a_reprocess_error():
    assert list(field_errors({**VALID, "reprocess": "some"})) == ["reprocess"]


def test_a_body_that_is_not_an_object_is_refused():
    assert field_errors(["startDate"]) == {
        "nonFieldErrors": ["Invalid data. Expected a dictionary, but got list."]
    }


def test_null_end_date_and_null_targets_mean_the_defaults():
    request = backfill_request(
        {"startDate": "2025-03-10", "endDate": None, "targetDistricts": None}
    )
    assert request.end_date == date(2025, 3, 10) and request.target_districts == ()
