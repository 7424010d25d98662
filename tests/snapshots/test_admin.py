"""snapshots/admin.py: the read-only snapshot index."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.snapshots.factories import SnapshotFactory

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
