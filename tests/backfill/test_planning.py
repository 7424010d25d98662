"""backfill/services/planning.py: request validation, scope, strategy, units and preview."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from backfill.models import (
    BackfillJob,
    BackfillUnit,
    CollectionStrategy,
    RateLimitConfig,
    UnitStatus,
)
from backfill.services import jobs, planning
from districts import services as district_services
from districts.dashboard.statistics import DistrictStatistics
from districts.models import District
from snapshots import store
from snapshots.services import snapshots_verify

VALID = {"startDate": "2025-03-10", "skipExisting": False}


def field_errors(data: dict) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        planning.parse_request(data)
    return caught.value.message_dict


def plan_for(**fields) -> planning.Plan:
    return planning.plan(planning.parse_request({**VALID, **fields}))


def targets(n: int) -> list[str]:
    return [str(d) for d in range(1, n + 1)]


def configure(*district_ids: str) -> None:
    district_services.set_configured_districts(district_ids=district_ids)


# parse_request: field errors


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
    errors = field_errors({"startDate": tomorrow.isoformat()})
    assert any("in the future" in m for m in errors["endDate"])


def test_today_is_accepted():
    today = timezone.localdate()
    assert planning.parse_request({"startDate": today.isoformat()}).end_date == today


def test_a_range_entirely_before_program_year_2008_2009_is_an_end_date_error():
    errors = field_errors({"startDate": "2008-06-29", "endDate": "2008-06-30"})
    assert "2008-07-01" in errors["endDate"][0]


def test_dates_of_a_range_before_the_data_starts_are_planned_unavailable(db):
    result = preview_of(startDate="2008-06-29", endDate="2008-07-01", targetDistricts=["42"])
    plans = {d.logical_date.isoformat(): (d.action, d.reason) for d in result.dates}
    assert plans["2008-06-29"][0] == plans["2008-06-30"][0] == "unavailable"
    assert "before the data starts" in plans["2008-06-30"][1]
    assert plans["2008-07-01"] == ("fetch", "")


@pytest.mark.parametrize("text", ["2025-W11-1", "20250310", "2025-3-10", "2025-03-10T00:00"])
def test_only_yyyy_mm_dd_dates_are_accepted(text):
    errors = field_errors({"startDate": text, "endDate": "2025-03-12"})
    assert errors["startDate"] == [f"Invalid date {text!r}: use YYYY-MM-DD."]


def test_unknown_districts_are_refused_up_front_when_districts_are_known(db):
    District.objects.create(id="42")
    with pytest.raises(ValidationError) as caught:
        planning.plan(
            planning.parse_request(
                {"startDate": "2025-03-10", "targetDistricts": ["999", "0", "42"]}
            )
        )
    (message,) = caught.value.message_dict["targetDistricts"]
    assert "Unknown district(s) 999, 0" in message


def test_configured_districts_count_as_known(db):
    configure("61")
    District.objects.create(id="42")
    result = preview_of(targetDistricts=["61"])
    assert result.scope["targetDistricts"] == ["61"]
    assert result.warnings == ()


def test_targets_are_accepted_with_a_warning_while_no_district_is_known(db):
    result = preview_of(targetDistricts=["999"])
    assert result.scope["targetDistricts"] == ["999"]
    assert any("District ids not checked" in w for w in result.warnings)


def test_the_preview_lists_every_date_with_its_plan_and_reason(db, snapshot_root):
    store_districts("42")  # 2025-03-10 stored with full detail
    result = preview_of(
        startDate="2025-03-10", endDate="2025-04-01", targetDistricts=["42"], skipExisting=True
    )
    plans = {d.logical_date: d for d in result.dates}
    assert len(plans) == 23
    assert (plans[DAY].action, plans[DAY].reason) == ("stored", "already stored")
    assert plans[date(2025, 3, 11)].action == "fetch"
    closing = plans[date(2025, 4, 1)]
    assert closing.action == "unavailable" and "closing period of 2025-03" in closing.reason
    assert sum(sum(d.units.values()) for d in result.dates) == result.total_units


def test_first_day_of_program_year_2008_2009_is_accepted():
    assert planning.parse_request({"startDate": "2008-07-01"}).start_date == date(2008, 7, 1)


def test_range_longer_than_the_maximum_is_an_end_date_error(settings):
    settings.BACKFILL_MAX_RANGE_DAYS = 5
    errors = field_errors({"startDate": "2025-03-01", "endDate": "2025-03-06"})
    assert "more than 5 days" in errors["endDate"][0]


def test_range_of_exactly_the_maximum_is_accepted(settings):
    settings.BACKFILL_MAX_RANGE_DAYS = 5
    request = planning.parse_request({"startDate": "2025-03-01", "endDate": "2025-03-05"})
    assert request.end_date == date(2025, 3, 5)


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
    assert planning.parse_request({**VALID, "concurrency": value}).concurrency == value


@pytest.mark.parametrize("value", [-1, 60_001, "100", 1.5])
def test_rate_limit_delay_out_of_bounds_is_a_rate_limit_delay_error(value):
    assert list(field_errors({**VALID, "rateLimitDelayMs": value})) == ["rateLimitDelayMs"]


@pytest.mark.parametrize("value", [0, 60_000, None])
def test_rate_limit_delay_bounds_are_inclusive_and_null_means_none(value):
    assert planning.parse_request({**VALID, "rateLimitDelayMs": value}).rate_limit_delay_ms == (
        value
    )


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


# parse_request: defaults and normalization


def test_defaults_of_a_minimal_request():
    request = planning.parse_request({"startDate": "2025-03-10"})
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
    request = planning.parse_request({**VALID, "targetDistricts": ["02", "f", "2", "F", 61]})
    assert request.target_districts == ("2", "F", "61")


def test_as_json_round_trips_through_parse_request():
    request = planning.parse_request(
        {**VALID, "endDate": "2025-03-12", "targetDistricts": ["42"], "rateLimitDelayMs": 500}
    )
    assert planning.parse_request(request.as_json()) == request


# plan: scope


def test_out_of_scope_targets_are_excluded_and_listed(db):
    configure("42", "61", "F")
    result = plan_for(targetDistricts=["42", "99", "F", "7"])
    assert result.districts == ("42", "F")
    assert result.scope["targetDistricts"] == ["42", "F"]
    assert result.scope["excludedDistricts"] == ["99", "7"]
    assert result.scope["configuredDistricts"] == ["42", "61", "F"]
    (excluded,) = [w for w in result.warnings if w.startswith("Out of the configured scope")]
    assert "99" in excluded and "7" in excluded


def test_no_target_left_in_scope_is_an_error(db):
    configure("42")
    with pytest.raises(ValidationError) as caught:
        plan_for(targetDistricts=["99", "7"])
    assert caught.value.message_dict == {"targetDistricts": ["No valid districts to process."]}


def test_without_a_configured_scope_every_target_is_in_scope(db):
    result = plan_for(targetDistricts=["42", "99"])
    assert result.districts == ("42", "99")
    assert result.scope["excludedDistricts"] == []
    assert [w.split(":")[0] for w in result.warnings] == ["District ids not checked"]


# plan: strategy (DOMAIN.md section 8)


def test_auto_without_targets_or_scope_is_system_wide_over_every_district(db):
    result = plan_for()
    assert result.collection_strategy == CollectionStrategy.SYSTEM_WIDE
    assert result.districts == ("*",)
    assert result.scope["scopeType"] == "system-wide"


def test_auto_without_targets_covers_the_configured_scope_system_wide(db):
    configure("42", "61")
    result = plan_for()
    assert result.collection_strategy == CollectionStrategy.SYSTEM_WIDE
    assert result.districts == ("42", "61")


def test_auto_targeting_every_configured_district_is_system_wide(db):
    configure("42", "61", "F")
    result = plan_for(targetDistricts=["F", "61", "42"])
    assert result.collection_strategy == CollectionStrategy.SYSTEM_WIDE
    assert result.scope["scopeType"] == "system-wide"


def test_auto_with_up_to_ten_targets_is_per_district(db):
    result = plan_for(targetDistricts=targets(10))
    assert result.collection_strategy == CollectionStrategy.PER_DISTRICT
    assert "10 targeted districts" in result.rationale


def test_auto_with_more_than_ten_targets_is_targeted(db):
    result = plan_for(targetDistricts=targets(11))
    assert result.collection_strategy == CollectionStrategy.TARGETED
    assert result.scope["scopeType"] == "targeted"


def test_explicit_system_wide_with_some_targets_is_targeted(db):
    result = plan_for(collectionType="system-wide", targetDistricts=["42"])
    assert result.collection_strategy == CollectionStrategy.TARGETED


def test_explicit_system_wide_without_targets_is_system_wide(db):
    assert (
        plan_for(collectionType="system-wide").collection_strategy == CollectionStrategy.SYSTEM_WIDE
    )


def test_explicit_per_district_honours_many_targets(db):
    result = plan_for(collectionType="per-district", targetDistricts=targets(20))
    assert result.collection_strategy == CollectionStrategy.PER_DISTRICT
    assert result.unit_count == 20


def test_explicit_per_district_without_targets_uses_the_configured_scope(db):
    configure("42", "F")
    result = plan_for(collectionType="per-district")
    assert result.collection_strategy == CollectionStrategy.PER_DISTRICT
    assert result.districts == ("42", "F")


def test_explicit_per_district_with_no_targets_and_no_scope_is_an_error(db):
    with pytest.raises(ValidationError) as caught:
        plan_for(collectionType="per-district")
    assert "collectionType" in caught.value.message_dict


@pytest.mark.parametrize(
    ("fields", "efficiency"),
    [
        ({}, float(planning.TYPICAL_DISTRICT_COUNT)),
        ({"targetDistricts": ["42", "61"]}, 0.333),
        ({"targetDistricts": targets(12)}, 12.0),
    ],
)
def test_every_strategy_has_a_rationale_and_an_efficiency(db, fields, efficiency):
    result = plan_for(**fields)
    assert result.rationale
    assert result.estimated_efficiency == efficiency


# plan: dates and units


def test_units_cover_each_date_then_each_district_in_order(db):
    result = plan_for(endDate="2025-03-11", targetDistricts=["61", "42"])
    units = [(u.logical_date.day, u.district_id) for u in result.units()]
    assert units == [(10, "61"), (10, "42"), (11, "61"), (11, "42")]
    assert result.unit_count == 4


def test_summary_strategies_plan_one_unit_per_date(db):
    result = plan_for(endDate="2025-03-12", targetDistricts=targets(11))
    units = list(result.units())
    assert [u.district_id for u in units] == ["*", "*", "*"]
    assert result.unit_count == len(units) == 3


def test_date_inside_the_previous_months_closing_period_is_planned_unavailable(db):
    # February 2026 closes on 2026-03-05 (districts/data/month-end-closing-dates.json).
    (unit,) = plan_for(startDate="2026-03-03", targetDistricts=["42"]).units()
    assert unit.status == UnitStatus.UNAVAILABLE
    assert "closing period of 2026-02" in unit.reason


def test_closing_date_itself_is_planned_unavailable(db):
    (unit,) = plan_for(startDate="2026-03-05", targetDistricts=["42"]).units()
    assert unit.status == UnitStatus.UNAVAILABLE


def test_day_after_the_closing_date_is_pending(db):
    (unit,) = plan_for(startDate="2026-03-06", targetDistricts=["42"]).units()
    assert unit.status == UnitStatus.PENDING


@pytest.mark.parametrize("month_end", ["2026-02-28", "2026-01-31", "2025-06-30"])
def test_month_end_dates_are_pending(db, month_end):
    (unit,) = plan_for(startDate=month_end, targetDistricts=["42"]).units()
    assert unit.status == UnitStatus.PENDING


def test_closing_period_applies_to_system_wide_units_too(db):
    statuses = [u.status for u in plan_for(startDate="2026-03-04", endDate="2026-03-06").units()]
    assert statuses == [UnitStatus.UNAVAILABLE, UnitStatus.UNAVAILABLE, UnitStatus.PENDING]


@pytest.fixture
def today_is(monkeypatch):
    """Pretend today is a given date (planning and request validation read it)."""

    def set_today(day: date) -> None:
        monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: day)

    return set_today


def test_recent_month_end_of_a_month_with_unknown_closing_is_planned_waiting(db, today_is):
    today_is(date(2026, 11, 20))  # the registry ends with 2026-07; nothing discovered

    (unit,) = plan_for(startDate="2026-10-31", targetDistricts=["42"]).units()

    assert unit.status == UnitStatus.WAITING
    assert unit.reason == (
        "2026-10 is still closing on the dashboard; its month-end snapshot (2026-10-31) is "
        "collected once the closing period ends"
    )


def test_waiting_applies_to_summary_units_and_only_to_the_month_end(db, today_is):
    today_is(date(2026, 11, 20))

    statuses = [u.status for u in plan_for(startDate="2026-10-30", endDate="2026-10-31").units()]

    assert statuses == [UnitStatus.PENDING, UnitStatus.WAITING]


def test_month_end_with_a_discovered_closing_date_is_pending(db, today_is):
    from districts.models import MonthEndClosing

    today_is(date(2026, 11, 20))
    MonthEndClosing.objects.create(
        data_month=date(2026, 10, 1), closing_date=date(2026, 11, 9), source="discovered"
    )

    (unit,) = plan_for(startDate="2026-10-31", targetDistricts=["42"]).units()

    assert unit.status == UnitStatus.PENDING


def test_days_of_a_closing_period_seen_still_open_are_unavailable(db, today_is):
    from districts.models import MonthEndClosing

    today_is(date(2026, 11, 6))
    MonthEndClosing.objects.create(
        data_month=date(2026, 10, 1), still_closing_on=date(2026, 11, 5), source="discovered"
    )

    units = list(plan_for(startDate="2026-11-04", endDate="2026-11-05").units())

    assert [u.status for u in units] == [UnitStatus.UNAVAILABLE, UnitStatus.UNAVAILABLE]


def test_old_month_end_of_an_unknown_month_is_pending_and_probed_when_it_runs(db, today_is):
    today_is(date(2026, 11, 20))

    (unit,) = plan_for(startDate="2026-08-31", targetDistricts=["42"]).units()
    (old,) = plan_for(startDate="2012-03-31", targetDistricts=["42"]).units()

    assert (unit.status, old.status) == (UnitStatus.PENDING, UnitStatus.PENDING)


def test_preview_counts_waiting_units_without_requests(db, today_is):
    today_is(date(2026, 11, 20))

    result = planning.preview(plan_for(startDate="2026-10-31", targetDistricts=["42", "61"]))

    assert (result.waiting_units, result.pending_units, result.requests) == (2, 0, 0)


def test_recent_month_ends_are_those_of_the_last_62_days():
    assert planning.recent_month_ends(today=date(2026, 12, 1)) == [
        date(2026, 9, 30),
        date(2026, 10, 31),
        date(2026, 11, 30),
    ]
    assert planning.recent_month_ends(today=date(2026, 12, 15)) == [
        date(2026, 10, 31),
        date(2026, 11, 30),
    ]


# plan: skipExisting (the snapshot store is real, under a private root)

DAY = date(2025, 3, 10)


def store_districts(
    *districts: str,
    detail: str = "full",
    strategy: str = "per-district",
    errors: dict[str, dict[str, str]] | None = None,
) -> None:
    """Write district files for DAY through the store and assemble its manifest."""
    for district_id in districts:
        store.write_district(
            logical_date=DAY,
            statistics=DistrictStatistics(
                district_id=district_id,
                logical_date=DAY,
                as_of_date=DAY,
                data_month="2025-03",
                program_year="2024-2025",
                is_closing_period=False,
                detail=detail,
            ),
        )
    store.finalize_snapshot(
        logical_date=DAY,
        collection_strategy=strategy,
        # As the engine records it: a system-wide job over every district has no scope list.
        scope=[] if strategy == "system-wide" else list(districts),
        job_id=None,
        district_errors=errors or {},
    )


def statuses(**fields) -> dict[str, str]:
    result = planning.plan(planning.parse_request({"startDate": DAY.isoformat(), **fields}))
    return {u.district_id: u.status for u in result.units()}


def test_district_stored_at_full_detail_is_planned_as_skipped(db, snapshot_root):
    store_districts("42")
    assert statuses(targetDistricts=["42", "61"]) == {
        "42": UnitStatus.SKIPPED,
        "61": UnitStatus.PENDING,
    }


def test_skip_existing_false_plans_stored_districts_again(db, snapshot_root):
    store_districts("42")
    assert statuses(targetDistricts=["42"], skipExisting=False) == {"42": UnitStatus.PENDING}


def test_summary_detail_does_not_satisfy_a_per_district_unit(db, snapshot_root):
    store_districts("42", detail="summary", strategy="targeted")
    assert statuses(targetDistricts=["42"]) == {"42": UnitStatus.PENDING}


def test_district_file_without_a_manifest_is_not_counted_as_stored(db, snapshot_root):
    store.write_district(
        logical_date=DAY,
        statistics=DistrictStatistics(
            district_id="42",
            logical_date=DAY,
            as_of_date=DAY,
            data_month="2025-03",
            program_year="2024-2025",
            is_closing_period=False,
            detail="full",
        ),
    )
    assert statuses(targetDistricts=["42"]) == {"42": UnitStatus.PENDING}


def test_targeted_unit_is_skipped_only_when_every_target_is_stored(db, snapshot_root):
    many = targets(11)
    store_districts(*many[:-1], detail="summary", strategy="targeted")
    assert statuses(targetDistricts=many) == {"*": UnitStatus.PENDING}
    store_districts(*many, detail="summary", strategy="targeted")
    assert statuses(targetDistricts=many) == {"*": UnitStatus.SKIPPED}


def test_full_detail_satisfies_a_targeted_unit(db, snapshot_root):
    many = targets(11)
    store_districts(*many, detail="full")
    assert statuses(targetDistricts=many) == {"*": UnitStatus.SKIPPED}


def test_system_wide_unit_is_skipped_when_a_system_wide_snapshot_succeeded(db, snapshot_root):
    store_districts("42", "61", "F", detail="summary", strategy="system-wide")
    assert statuses() == {"*": UnitStatus.SKIPPED}


def test_partial_system_wide_snapshot_is_collected_again(db, snapshot_root):
    store_districts(
        "42",
        detail="summary",
        strategy="system-wide",
        errors={"*": {"errorType": "fetch_failed", "message": "HTTP 500"}},
    )
    assert statuses() == {"*": UnitStatus.PENDING}


def test_per_district_snapshot_of_a_few_districts_does_not_skip_a_system_wide_unit(
    db, snapshot_root
):
    # A per-district job stored two districts: the date's manifest says "completed", but the
    # other ~120 districts have never been collected for it.
    store_districts("42", "61", detail="full", strategy="per-district")
    assert statuses() == {"*": UnitStatus.PENDING}


def test_a_deleted_district_file_is_collected_again_before_and_after_repair(db, snapshot_root):
    # Issue 9 finding 6: a district file gone from the store must show up for collection again.
    store_districts("42", "61")
    (snapshot_root / DAY.isoformat() / "district_61.json").unlink()
    expected = {"42": UnitStatus.SKIPPED, "61": UnitStatus.PENDING}
    assert statuses(targetDistricts=["42", "61"]) == expected
    snapshots_verify(repair=True)
    assert store.read_manifest(logical_date=DAY)["status"] == "partial_success"
    assert statuses(targetDistricts=["42", "61"]) == expected


def test_system_wide_date_with_a_deleted_district_file_is_collected_again(db, snapshot_root):
    store_districts("42", "61", detail="summary", strategy="system-wide")
    (snapshot_root / DAY.isoformat() / "district_61.json").unlink()
    snapshots_verify(repair=True)
    assert statuses() == {"*": UnitStatus.PENDING}


def test_failed_district_of_a_partial_snapshot_is_planned_again(db, snapshot_root):
    store_districts("42", errors={"61": {"errorType": "fetch_failed", "message": "HTTP 500"}})
    assert statuses(targetDistricts=["42", "61"]) == {
        "42": UnitStatus.SKIPPED,
        "61": UnitStatus.PENDING,
    }


def test_preview_counts_stored_units_as_skipped_without_requests(db, snapshot_root):
    store_districts("42")
    result = jobs.preview_job(
        request={"startDate": DAY.isoformat(), "targetDistricts": ["42", "61"]}
    )
    assert (result.total_units, result.skipped_units, result.pending_units) == (2, 1, 1)
    assert result.requests == 3


def test_create_job_counts_stored_units_as_skipped(db, snapshot_root, monkeypatch):
    monkeypatch.setattr(jobs, "_send", lambda *args, **kwargs: None)
    store_districts("42")
    job = jobs.create_job(request={"startDate": DAY.isoformat(), "targetDistricts": ["42", "61"]})
    assert (job.total_units, job.skipped_units) == (2, 1)
    skipped = job.units.get(status=UnitStatus.SKIPPED)
    assert skipped.district_id == "42" and skipped.finished_at is not None


# preview


def set_limits(**fields) -> None:
    RateLimitConfig.objects.filter(pk=RateLimitConfig.load().pk).update(**fields)


def preview_of(**fields) -> planning.Preview:
    return jobs.preview_job(request={**VALID, **fields})


def test_preview_counts_pending_and_unavailable_units_and_requests(db):
    # 2026-03-01..05 lie in February's closing period; 06..10 are collectable.
    result = preview_of(startDate="2026-03-01", endDate="2026-03-10", targetDistricts=["42", "61"])
    assert result.collection_strategy == CollectionStrategy.PER_DISTRICT
    assert (result.total_units, result.pending_units) == (20, 10)
    assert (result.unavailable_units, result.skipped_units) == (10, 0)
    assert result.requests == 30


def test_preview_of_a_summary_strategy_counts_one_request_per_pending_date(db):
    result = preview_of(startDate="2025-03-10", endDate="2025-03-16")
    assert (result.total_units, result.requests) == (7, 7)


def test_preview_duration_is_bounded_by_the_request_window(db):
    set_limits(max_requests=10, window_ms=60_000, min_delay_ms=2_000)
    result = preview_of(targetDistricts=["42", "61"], endDate="2025-03-14")  # 10 units
    assert result.requests == 30
    # Requests 0-9 at 0, 2, ..., 18 s; 10-19 from 60 s; the 30th (index 29) at 120 + 18 s.
    assert result.estimated_duration_seconds == 138.0


def test_preview_duration_of_six_requests_two_seconds_apart_is_ten_seconds(db):
    set_limits(max_requests=10, window_ms=60_000, min_delay_ms=2_000)
    result = preview_of(targetDistricts=["42", "61"], endDate="2025-03-10")
    assert result.requests == 6
    assert result.estimated_duration_seconds == 10.0  # was 60: a whole window per 10 requests


def test_preview_duration_is_bounded_by_the_minimum_delay(db):
    set_limits(max_requests=1_000, window_ms=1_000, min_delay_ms=500)
    result = preview_of(targetDistricts=["42"], endDate="2025-03-11")
    assert result.requests == 6
    assert result.estimated_duration_seconds == 2.5


def test_preview_duration_uses_the_jobs_own_delay_when_it_is_longer(db):
    set_limits(max_requests=1_000, window_ms=1_000, min_delay_ms=500)
    result = preview_of(targetDistricts=["42"], rateLimitDelayMs=2_000)
    assert result.estimated_duration_seconds == 4.0  # three requests, 2 s apart


def test_preview_of_only_unavailable_dates_takes_no_time(db):
    result = preview_of(startDate="2026-03-01", endDate="2026-03-05")
    assert result.requests == 0
    assert result.estimated_duration_seconds == 0.0


def test_preview_reports_excluded_targets_as_warnings(db):
    configure("42")
    result = preview_of(targetDistricts=["42", "99"])
    assert result.scope["excludedDistricts"] == ["99"]
    assert any("99" in w for w in result.warnings)


def test_preview_writes_no_job_and_no_unit(db):
    preview_of(endDate="2025-03-20", targetDistricts=["42", "61"])
    assert not BackfillJob.objects.exists()
    assert not BackfillUnit.objects.exists()


def test_preview_rejects_what_create_job_rejects(db):
    with pytest.raises(ValidationError) as caught:
        jobs.preview_job(request={"startDate": "2025-03-10", "concurrency": 99})
    assert "concurrency" in caught.value.message_dict
