"""Fixtures of the snapshot tests: API clients (the private store root is `snapshot_root`)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient


@pytest.fixture
def staff_client(db) -> APIClient:
    user = get_user_model().objects.create_user("staff", is_staff=True)
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def user_client(db) -> APIClient:
    user = get_user_model().objects.create_user("member")
    client = APIClient()
    client.force_login(user)
    return client
