"""backfill/management/commands/api_token.py: tokens are issued and revoked from the shell."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from tests.fixtures.api import VIEWERS, staff_member

pytestmark = pytest.mark.django_db
URL = "/api/admin/backfill/jobs"


def run(*args: str) -> str:
    out = StringIO()
    call_command("api_token", *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def client_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_an_issued_token_opens_the_api_until_it_is_revoked():
    staff_member("ops", VIEWERS)
    key = run("issue", "ops")
    assert len(key) == 40
    assert run("issue", "ops") == key  # issuing again prints the same token
    assert client_with(key).get(URL).status_code == 200
    assert run("revoke", "ops") == "Token of ops revoked."
    assert client_with(key).get(URL).status_code == 401


def test_rotate_replaces_the_token():
    staff_member("ops", VIEWERS)
    old = run("issue", "ops")
    new = run("issue", "ops", "--rotate")
    assert new != old
    assert client_with(old).get(URL).status_code == 401
    assert client_with(new).get(URL).status_code == 200


def test_unknown_and_deactivated_users_get_no_token():
    with pytest.raises(CommandError, match="No user"):
        run("issue", "nobody")
    get_user_model().objects.create_user("gone", is_staff=True, is_active=False)
    with pytest.raises(CommandError, match="deactivated"):
        run("issue", "gone")


def test_a_non_staff_token_is_refused_by_the_api():
    get_user_model().objects.create_user("member")
    assert client_with(run("issue", "member")).get(URL).status_code == 403


def test_a_staff_token_without_permissions_is_refused_and_the_command_says_why():
    staff_member("bare", None)
    err = StringIO()
    call_command("api_token", "issue", "bare", stdout=StringIO(), stderr=err)
    assert "Backfill viewers" in err.getvalue()
    assert client_with(run("issue", "bare")).get(URL).status_code == 403
