"""snapshots/admin.py: the read-only snapshot index."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from snapshots import store
from snapshots.models import Snapshot
from tests.snapshots.factories import SnapshotFactory, full_statistics

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("admin", "a@example.com"))
    return client


def test_the_index_lists_and_filters_snapshots(admin_client_):
    SnapshotFactory(logical_date=date(2025, 3, 9), status="partial_success")
    SnapshotFactory(logical_date=date(2025, 3, 10), status="completed")

    response = admin_client_.get("/admin/snapshots/snapshot/?status__exact=partial_success")
    assert response.status_code == 200
    assert b"March 9, 2025" in response.content
    assert b"March 10, 2025" not in response.content


def test_the_index_cannot_be_edited_from_the_admin(admin_client_):
    row = SnapshotFactory()
    assert admin_client_.get("/admin/snapshots/snapshot/add/").status_code == 403
    assert admin_client_.post(f"/admin/snapshots/snapshot/{row.pk}/delete/").status_code == 403
    assert admin_client_.get(f"/admin/snapshots/snapshot/{row.pk}/change/").status_code == 200


@pytest.fixture
def stored_snapshot(snapshot_root) -> Snapshot:
    day = date(2025, 3, 10)
    store.write_district(logical_date=day, statistics=full_statistics(district_id="42"))
    store.archive_raw_csv(
        as_of=day, report="clubperformance", district_id="42", data=b"raw,csv\r\n"
    )
    store.finalize_snapshot(
        logical_date=day,
        collection_strategy="per-district",
        scope=["42"],
        job_id=None,
        district_errors={},
    )
    return Snapshot.objects.get(logical_date=day)


def test_a_snapshot_page_lists_its_districts_and_a_district_page_its_figures(
    admin_client_, stored_snapshot
):
    snapshot = stored_snapshot
    page = admin_client_.get(f"/admin/snapshots/snapshot/{snapshot.pk}/change/")
    body = page.content.decode()
    assert page.status_code == 200 and "Districts (1)" in body
    district = admin_client_.get(f"/admin/snapshots/snapshot/{snapshot.pk}/district/42/")
    assert district.status_code == 200
    assert "Active members" in district.content.decode()
    raw = admin_client_.get(f"/admin/snapshots/snapshot/{snapshot.pk}/raw/clubperformance/42.csv")
    assert raw.status_code == 200 and raw.content == b"raw,csv\r\n"
    missing = admin_client_.get(f"/admin/snapshots/snapshot/{snapshot.pk}/district/61/")
    assert missing.status_code == 404
