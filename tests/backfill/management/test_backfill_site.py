"""`manage.py backfill --job-type publish|import` (backfill/management/commands/backfill.py):
the site's job types from the command line, with the same contract as the API."""

from __future__ import annotations

import json
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from backfill.models import BackfillJob, JobType
from tests.fixtures.site_tree import simulated_site
from website.importing import import_site

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sent")]
DAYS = [date(2025, 3, 10), date(2025, 3, 11)]


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_an_import_dry_run_lists_the_dates_of_the_tree(snapshot_root, tmp_path):
    site = simulated_site(tmp_path / "site", DAYS, ["21"])
    out = run("backfill", "--job-type", "import", "--source", str(site), "--dry-run", "--json")
    preview = json.loads(out)
    assert preview["collectionStrategy"] == "import" and preview["requests"] == 0
    assert [(d["date"], d["plan"]) for d in preview["dates"]] == [
        ("2025-03-10", "import"),
        ("2025-03-11", "import"),
    ]
    assert not BackfillJob.objects.exists()


def test_a_publish_is_queued_to_the_destination_given(snapshot_root, tmp_path):
    import_site(str(simulated_site(tmp_path / "site", DAYS, ["21"])))
    run("backfill", "--job-type", "publish", "--destination", f"file://{tmp_path}/cdn")
    job = BackfillJob.objects.get(job_type=JobType.PUBLISH)
    assert job.request["destination"] == f"file://{tmp_path}/cdn"
    assert job.created_via == "cli" and job.total_units == 2


def test_a_publish_without_destination_names_it(settings):
    settings.PUBLISH_DESTINATION = ""
    with pytest.raises(CommandError, match="destination: Required for publish"):
        run("backfill", "--job-type", "publish")


def test_one_source_at_a_time(db):
    with pytest.raises(CommandError, match="one source at a time"):
        run("backfill", "--start", "2025-03-10", "--from-archive", "--source", "/srv/cdn")
