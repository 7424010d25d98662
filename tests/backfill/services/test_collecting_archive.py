"""Re-normalizing from the raw archive (`source: archive`): no request, same rules, same files.

The data is first collected from the simulator over real HTTP; the re-normalization then runs
its units in this process (as `test_execution.py` does), so a test can change the normalizer.
The simulator's request log proves that no request was made.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from rest_framework.exceptions import ValidationError as RequestInvalid

from backfill.contracts import backfill_request
from backfill.models import BackfillJob, JobStatus, Source, UnitStatus
from backfill.services import jobs
from districts.dashboard import closing, collect
from districts.dashboard.errors import ErrorType
from districts.models import MonthEndClosing
from snapshots import store
from tests.fixtures.jobs import run_to_the_end

pytestmark = pytest.mark.django_db(transaction=True)

DAYS = (date(2025, 3, 10), date(2025, 3, 11))


def collected(request: dict) -> None:
    job = run_to_the_end(jobs.create_job(request=backfill_request(request)))
    assert job.status == JobStatus.COMPLETED, job.error_summary


def district_files(root: Path) -> dict[str, bytes]:
    """Every district file of the store, by name."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.glob("????-??-??/district_*.json"))
    }


def renormalize(**fields) -> object:
    request = {"startDate": "2025-03-10", "endDate": "2025-03-11", "source": "archive", **fields}
    return run_to_the_end(jobs.create_job(request=backfill_request(request)))


@pytest.mark.parametrize(
    "scope",
    [
        {"targetDistricts": ["42", "2"]},  # per-district: three reports per unit
        {"collectionType": "system-wide"},  # one district summary per date
    ],
    ids=["per-district", "system-wide"],
)
def test_renormalizing_rewrites_identical_files_without_a_request(
    backfill_env, fast_limits, sent, simulator, snapshot_root, scope
):
    collected({"startDate": "2025-03-10", "endDate": "2025-03-11", **scope})
    before = district_files(snapshot_root)
    first_manifest = store.read_manifest(logical_date=DAYS[0])
    requests_before = len(simulator.requests())
    assert before and requests_before > 0

    job = renormalize(**scope)

    assert job.status == JobStatus.COMPLETED, job.error_summary
    assert job.succeeded_units == job.total_units > 0
    assert len(simulator.requests()) == requests_before  # not one request
    assert sum(job.units.values_list("requests_made", flat=True)) == 0
    assert district_files(snapshot_root) == before  # byte for byte
    manifest = store.read_manifest(logical_date=DAYS[0])
    assert manifest["jobId"] == str(job.pk) != first_manifest["jobId"]  # rewritten
    assert manifest["status"] == "completed"
    assert [f["sha256"] for f in manifest["files"]] == [
        f["sha256"] for f in first_manifest["files"]
    ]


def test_a_changed_normalizer_reaches_the_stored_snapshots(
    backfill_env, fast_limits, sent, simulator, snapshot_root, monkeypatch
):
    collected({"startDate": "2025-03-10", "endDate": "2025-03-11", "targetDistricts": ["42"]})
    requests_before = len(simulator.requests())
    original = collect.normalize_district

    def fixed(**kwargs):
        statistics = original(**kwargs)
        return dataclasses.replace(statistics, warnings=(*statistics.warnings, "normalizer v2"))

    monkeypatch.setattr(collect, "normalize_district", fixed)

    job = renormalize(targetDistricts=["42"])

    assert job.status == JobStatus.COMPLETED
    assert len(simulator.requests()) == requests_before
    for day in DAYS:
        stored = store.read_district(logical_date=day, district_id="42")
        assert "normalizer v2" in stored.warnings
        manifest = store.read_manifest(logical_date=day)
        assert manifest["files"][0]["sha256"] == store.district_sha256(stored)


def test_dates_without_an_archived_csv_are_unavailable_with_the_reason(
    backfill_env, fast_limits, sent, simulator, snapshot_root
):
    collected({"startDate": "2025-03-10", "targetDistricts": ["42"]})
    requests_before = len(simulator.requests())

    preview = jobs.preview_job(
        request=backfill_request(
            {"startDate": "2025-03-10", "endDate": "2025-03-11", "source": "archive"}
            | {"targetDistricts": ["42"]}
        )
    )
    assert preview.requests == 0 and preview.estimated_duration_seconds == 0
    plans = {d.logical_date: d for d in preview.dates}
    assert plans[DAYS[0]].plan == "fetch"
    assert plans[DAYS[0]].reason == "will re-normalize from the archive"
    assert plans[DAYS[1]].plan == "unavailable"
    assert "no archived CSV of clubperformance for district 42 as of 2025-03-11" in (
        plans[DAYS[1]].reason
    )

    job = renormalize(targetDistricts=["42"])

    assert job.status == JobStatus.COMPLETED
    assert (job.succeeded_units, job.unavailable_units) == (1, 1)
    unit = job.units.get(logical_date=DAYS[1])
    assert unit.status == UnitStatus.UNAVAILABLE
    assert "no archived CSV" in unit.error_message
    assert len(simulator.requests()) == requests_before


def test_a_report_missing_from_the_archive_ends_its_unit_unavailable(
    backfill_env, fast_limits, sent, simulator, snapshot_root
):
    collected({"startDate": "2025-03-10", "targetDistricts": ["42"]})
    (raw,) = snapshot_root.glob("raw/*/divisionperformance/district_42.csv")
    raw.unlink()

    job = renormalize(endDate="2025-03-10", targetDistricts=["42"])

    unit = job.units.get()
    assert unit.status == UnitStatus.UNAVAILABLE
    assert unit.error_type == ErrorType.DATA_UNAVAILABLE
    assert "no archived CSV of divisionperformance for district 42" in unit.error_message
    # The stored file is left as it was.
    assert store.read_district(logical_date=DAYS[0], district_id="42") is not None


def test_the_archive_re_reads_what_a_damaged_file_lost(
    backfill_env, fast_limits, sent, simulator, snapshot_root
):
    collected({"startDate": "2025-03-10", "targetDistricts": ["42"]})
    path = snapshot_root / "2025-03-10" / "district_42.json"
    good = path.read_bytes()
    path.write_bytes(b"{not json")

    job = renormalize(endDate="2025-03-10", targetDistricts=["42"])

    assert job.status == JobStatus.COMPLETED
    assert path.read_bytes() == good


def test_the_contract_of_source():
    archive = backfill_request({"startDate": "2025-03-10", "source": "archive"})
    assert archive.source == Source.ARCHIVE and archive.reprocess == "all"
    assert archive.as_json()["source"] == "archive"
    chosen = backfill_request(
        {"startDate": "2025-03-10", "source": "archive", "reprocess": "missing"}
    )
    assert chosen.reprocess == "missing"
    assert backfill_request({"startDate": "2025-03-10"}).source == Source.DASHBOARD
    with pytest.raises(RequestInvalid) as error:
        backfill_request(
            {"startDate": "2025-03-10", "source": "archive", "jobType": "analytics-generation"}
        )
    assert "source" in error.value.detail
    with pytest.raises(RequestInvalid) as error:
        backfill_request({"startDate": "2025-03-10", "source": "ftp"})
    assert "source" in error.value.detail


def test_the_command_re_normalizes_from_the_archive(
    backfill_env, fast_limits, sent, simulator, snapshot_root, capsys
):
    collected({"startDate": "2025-03-10", "targetDistricts": ["42"]})

    call_command(
        "backfill", "--start", "2025-03-10", "--districts", "42", "--from-archive", "--dry-run"
    )

    out = capsys.readouterr().out
    assert "Requests             0" in out
    assert "will re-normalize from the archive" in out

    call_command("backfill", "--start", "2025-03-10", "--districts", "42", "--from-archive")

    job = BackfillJob.objects.latest("created_at")
    assert job.source == Source.ARCHIVE and job.request["reprocess"] == "all"


def test_a_month_end_is_re_read_as_it_was_downloaded_whatever_the_registry_says_now(
    backfill_env, fast_limits, sent, simulator, snapshot_root
):
    month_end = date(2025, 2, 28)
    collected({"startDate": "2025-02-28", "targetDistricts": ["42"]})
    stored = store.read_district(logical_date=month_end, district_id="42")
    assert stored.as_of_date > month_end  # collected at its closing date
    before = district_files(snapshot_root)
    # An operator corrects February's closing date afterwards: today's request for the month
    # end names another as-of than the one its exports were downloaded at.
    MonthEndClosing.objects.create(
        data_month=date(2025, 2, 1), closing_date=stored.as_of_date + timedelta(days=1)
    )
    closing.clear_cache()

    job = renormalize(startDate="2025-02-28", endDate="2025-02-28", targetDistricts=["42"])

    assert job.status == JobStatus.COMPLETED, list(job.units.values_list("error_message"))
    assert district_files(snapshot_root) == before
