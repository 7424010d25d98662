"""backfill/services/planning/: request validation, scope, strategy, units and preview."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from rest_framework.exceptions import ValidationError as RequestInvalid

from backfill.contracts import backfill_request
from backfill.models import (
    BackfillJob,
    BackfillUnit,
    CollectionStrategy,
    RateLimitConfig,
    UnitStatus,
)
from backfill.services import broker, jobs, planning
from backfill.services.planning.collection import TYPICAL_DISTRICT_COUNT
from backfill.services.planning.month_ends import recent_month_ends, unknown_closing_month
from backfill.services.planning.plan import Plan
from backfill.services.planning.preview import Preview, preview_plan
from districts import services as district_services
from districts.dashboard.closing import typical_closing_days
from districts.dashboard.statistics import DistrictStatistics
from districts.models import District
from snapshots import store
from snapshots.services import snapshots_verify

VALID = {"startDate": "2025-03-10", "skipExisting": False}


def plan_for(**fields) -> Plan:
    return planning.plan(backfill_request({**VALID, **fields}))


def targets(n: int) -> list[str]:
    return [str(d) for d in range(1, n + 1)]


def configure(*district_ids: str) -> None:
    district_services.set_configured_districts(district_ids=district_ids)


# plan: dates before the data starts, unknown districts, the per-date preview


def test_dates_of_a_range_before_the_data_starts_are_planned_unavailable(db):
    result = preview_of(startDate="2008-06-29", endDate="2008-07-01", targetDistricts=["42"])
    plans = {d.logical_date.isoformat(): (d.plan, d.reason) for d in result.dates}
    assert plans["2008-06-29"][0] == plans["2008-06-30"][0] == "unavailable"
    assert "before the data starts" in plans["2008-06-30"][1]
    assert plans["2008-07-01"] == ("fetch", "will fetch")


def test_unknown_districts_are_refused_up_front_when_districts_are_known(db):
    District.objects.create(id="42")
    with pytest.raises(ValidationError) as caught:
        planning.plan(
            backfill_request({"startDate": "2025-03-10", "targetDistricts": ["999", "0", "42"]})
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
    assert (plans[DAY].plan, plans[DAY].reason) == ("stored", "already stored")
    assert plans[date(2025, 3, 11)].plan == "fetch"
    closing = plans[date(2025, 4, 1)]
    assert closing.plan == "unavailable" and "closing period of 2025-03" in closing.reason
    assert sum(d.units for d in result.dates) == result.total_units


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
        ({}, float(TYPICAL_DISTRICT_COUNT)),
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

    result = preview_plan(plan_for(startDate="2026-10-31", targetDistricts=["42", "61"]))

    assert (result.waiting_units, result.pending_units, result.requests) == (2, 0, 0)


def test_closing_days_of_a_month_past_the_registry_are_previewed_as_such_not_fetched(
    db, today_is, snapshot_root
):
    # August 2026 is past the shipped registry and not discovered: its closing period in
    # September is estimated from the Augusts on record (median: closed on day 8).
    today_is(date(2026, 12, 6))
    assert typical_closing_days(date(2026, 8, 1))[0] == 8

    result = preview_plan(
        plan_for(startDate="2026-09-01", endDate="2026-09-10", targetDistricts=["42", "61"])
    )

    plans = {d.logical_date.day: d for d in result.dates}
    assert [plans[day].plan for day in range(1, 11)] == ["unavailable"] * 8 + ["fetch"] * 2
    assert "closing period of 2026-08 (estimated" in plans[1].reason
    assert (result.unavailable_units, result.pending_units) == (16, 4)
    # Two days x two districts x three reports, and one discovery of August's closing date
    # (was 60: a request per report, district and day).
    # Two fetched dates x two districts, their two summaries, one discovery.
    assert result.requests == 4 * 3 + 2 + 6


def test_a_discovered_closing_date_plans_its_period_exactly(db, today_is, snapshot_root):
    from districts.models import MonthEndClosing

    today_is(date(2026, 12, 6))
    MonthEndClosing.objects.create(
        data_month=date(2026, 11, 1), closing_date=date(2026, 12, 5), source="discovered"
    )

    result = preview_plan(plan_for(startDate="2026-12-01", endDate="2026-12-05"))

    assert [d.plan for d in result.dates] == ["unavailable"] * 5
    assert result.requests == 0


def test_days_past_the_latest_closing_on_record_are_fetched_without_discovery(db, today_is):
    today_is(date(2026, 12, 6))

    assert unknown_closing_month(date(2026, 9, 5), today=date(2026, 12, 6)) == date(2026, 8, 1)
    # No August on record closed after day 12 of September; a month end is its own month's.
    assert unknown_closing_month(date(2026, 9, 13), today=date(2026, 12, 6)) is None
    assert unknown_closing_month(date(2026, 9, 30), today=date(2026, 12, 6)) is None
    # Known months (the shipped registry) need no discovery.
    assert unknown_closing_month(date(2025, 9, 2), today=date(2026, 12, 6)) is None


def test_recent_month_ends_are_those_of_the_last_62_days():
    assert recent_month_ends(today=date(2026, 12, 1)) == [
        date(2026, 9, 30),
        date(2026, 10, 31),
        date(2026, 11, 30),
    ]
    assert recent_month_ends(today=date(2026, 12, 15)) == [
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
    result = planning.plan(backfill_request({"startDate": DAY.isoformat(), **fields}))
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
        request=backfill_request({"startDate": DAY.isoformat(), "targetDistricts": ["42", "61"]})
    )
    assert (result.total_units, result.skipped_units, result.pending_units) == (2, 1, 1)
    assert result.requests == 3 + 1  # and the date's all-districts summary


def test_create_job_counts_stored_units_as_skipped(db, snapshot_root, monkeypatch):
    monkeypatch.setattr(broker, "send", lambda *args, **kwargs: None)
    store_districts("42")
    job = jobs.create_job(
        request=backfill_request({"startDate": DAY.isoformat(), "targetDistricts": ["42", "61"]})
    )
    assert (job.total_units, job.skipped_units) == (2, 1)
    skipped = job.units.get(status=UnitStatus.SKIPPED)
    assert skipped.district_id == "42" and skipped.finished_at is not None


# preview


def set_limits(**fields) -> None:
    RateLimitConfig.objects.filter(pk=RateLimitConfig.load().pk).update(**fields)


def preview_of(**fields) -> Preview:
    return jobs.preview_job(request=backfill_request({**VALID, **fields}))


def test_preview_counts_pending_and_unavailable_units_and_requests(db):
    # 2026-03-01..05 lie in February's closing period; 06..10 are collectable.
    result = preview_of(startDate="2026-03-01", endDate="2026-03-10", targetDistricts=["42", "61"])
    assert result.collection_strategy == CollectionStrategy.PER_DISTRICT
    assert (result.total_units, result.pending_units) == (20, 10)
    assert (result.unavailable_units, result.skipped_units) == (10, 0)
    assert result.requests == 30 + 5  # and the summary of each date collected


def test_preview_of_a_summary_strategy_counts_one_request_per_pending_date(db):
    result = preview_of(startDate="2025-03-10", endDate="2025-03-16")
    assert (result.total_units, result.requests) == (7, 7)


def test_preview_duration_is_bounded_by_the_request_window(db):
    set_limits(max_requests=10, window_ms=60_000, min_delay_ms=2_000)
    # 10 units (the dates' summaries are counted by their own test)
    result = preview_of(collectSummary=False, targetDistricts=["42", "61"], endDate="2025-03-14")
    assert result.requests == 30
    # Requests 0-9 at 0, 2, ..., 18 s; 10-19 from 60 s; the 30th (index 29) at 120 + 18 s.
    assert result.estimated_duration_seconds == 138.0


def test_preview_duration_of_six_requests_two_seconds_apart_is_ten_seconds(db):
    set_limits(max_requests=10, window_ms=60_000, min_delay_ms=2_000)
    result = preview_of(collectSummary=False, targetDistricts=["42", "61"], endDate="2025-03-10")
    assert result.requests == 6
    assert result.estimated_duration_seconds == 10.0  # was 60: a whole window per 10 requests


def test_preview_duration_is_bounded_by_the_minimum_delay(db):
    set_limits(max_requests=1_000, window_ms=1_000, min_delay_ms=500)
    result = preview_of(collectSummary=False, targetDistricts=["42"], endDate="2025-03-11")
    assert result.requests == 6
    assert result.estimated_duration_seconds == 2.5


def test_preview_duration_uses_the_jobs_own_delay_when_it_is_longer(db):
    set_limits(max_requests=1_000, window_ms=1_000, min_delay_ms=500)
    result = preview_of(collectSummary=False, targetDistricts=["42"], rateLimitDelayMs=2_000)
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
    configure("7")
    with pytest.raises(ValidationError, match="No valid districts to process"):
        jobs.preview_job(request=backfill_request({**VALID, "targetDistricts": ["42"]}))


# plan: reprocess


def test_reprocess_failed_redoes_only_the_missing_districts_of_a_partial_date(db, snapshot_root):
    store_districts("42", errors={"61": {"errorType": "fetch_failed", "message": "HTTP 500"}})
    assert statuses(targetDistricts=["42", "61"], reprocess="failed") == {
        "42": UnitStatus.SKIPPED,
        "61": UnitStatus.PENDING,
    }


def test_reprocess_failed_leaves_completed_and_unstored_dates_alone(db, snapshot_root):
    assert statuses(targetDistricts=["42"], reprocess="failed") == {"42": UnitStatus.SKIPPED}
    store_districts("42")
    result = planning.plan(
        backfill_request(
            {"startDate": DAY.isoformat(), "targetDistricts": ["42"], "reprocess": "failed"}
        )
    )
    (unit,) = result.units()
    assert unit.status == UnitStatus.SKIPPED and "completed" in unit.reason


def test_reprocess_all_plans_stored_districts_again(db, snapshot_root):
    store_districts("42")
    assert statuses(targetDistricts=["42"], reprocess="all") == {"42": UnitStatus.PENDING}


def test_preview_gives_every_date_its_plan_and_reason(db, snapshot_root):
    store_districts("42")
    preview = jobs.preview_job(
        request=backfill_request(
            {
                "startDate": (DAY - timedelta(days=1)).isoformat(),
                "endDate": DAY.isoformat(),
                "targetDistricts": ["42"],
            }
        )
    )
    assert [(d.logical_date, d.plan, d.reason) for d in preview.dates] == [
        (DAY - timedelta(days=1), "fetch", "will fetch"),
        (DAY, "stored", "already stored"),
    ]


def test_preview_counts_one_summary_request_per_date_of_a_per_district_job(db, snapshot_root):
    # Each date's all-districts summary (for the rankings): one request per date with a unit to
    # fetch, none where it is archived already or the operator said collectSummary false.
    result = preview_of(targetDistricts=["42", "61"], endDate="2025-03-12")
    assert (result.pending_units, result.requests) == (6, 6 * 3 + 3)
    store.archive_raw_csv(
        as_of=date(2025, 3, 11), report="districtsummary", district_id=None, data=b"x"
    )
    result = preview_of(targetDistricts=["42", "61"], endDate="2025-03-12")
    assert result.requests == 6 * 3 + 2
    result = preview_of(targetDistricts=["42", "61"], endDate="2025-03-12", collectSummary=False)
    assert result.requests == 6 * 3


def test_collect_summary_false_is_refused_where_no_per_district_request_is_sent(db):
    with pytest.raises(ValidationError) as raised:
        preview_of(collectSummary=False)  # every district: system-wide
    assert "collectSummary" in raised.value.message_dict
    for fields in (
        {"jobType": "analytics-generation"},
        {"source": "archive", "targetDistricts": ["42"]},
    ):
        with pytest.raises(RequestInvalid) as invalid:
            backfill_request({**VALID, **fields, "collectSummary": False})
        assert "collectSummary" in invalid.value.detail
