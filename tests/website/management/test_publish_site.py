"""`manage.py publish_site`: publishes and prints written, skipped and bytes."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.management import CommandError, call_command

from tests.website.stored import store_day

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("publish_site", *args, stdout=out)
    return out.getvalue()


def test_publish_site_prints_what_it_wrote_then_nothing_on_a_second_run(snapshot_root, tmp_path):
    store_day(date(2025, 3, 10), ["42"])
    destination = f"file://{tmp_path / 'cdn'}"
    first = run("--to", destination)
    assert first.startswith("written: ") and "bytes: " in first
    assert run("--to", destination).startswith("written: 0 objects")
    assert (tmp_path / "cdn" / "v1" / "latest.json").exists()


def test_dry_run_says_would_write_and_writes_nothing(snapshot_root, tmp_path):
    store_day(date(2025, 3, 10), ["42"])
    output = run("--to", f"file://{tmp_path / 'cdn'}", "--dry-run")
    assert output.startswith("would write: ")
    assert not (tmp_path / "cdn").exists()


def test_start_after_end_is_refused(snapshot_root, tmp_path):
    with pytest.raises(CommandError, match="after --end"):
        run("--to", f"file://{tmp_path}", "--start", "2025-03-11", "--end", "2025-03-10")


def test_without_a_destination_the_command_says_what_to_set(snapshot_root, settings):
    settings.PUBLISH_DESTINATION = ""
    with pytest.raises(CommandError, match="PUBLISH_DESTINATION"):
        run()
