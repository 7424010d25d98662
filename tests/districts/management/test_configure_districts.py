"""The configure_districts management command."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from districts import services


def run(*args: str) -> str:
    out = StringIO()
    call_command("configure_districts", *args, stdout=out)
    return out.getvalue().strip()


def test_list_without_a_scope_says_every_district_is_in_scope(db):
    assert run("list") == "No districts configured: every district is in scope."


def test_add_prints_the_new_scope(db):
    assert run("add", "42", "f", "02") == "3 configured: 2 42 F"
    assert services.configured_districts() == ("2", "42", "F")


def test_list_shows_the_configured_scope(db):
    services.set_configured_districts(district_ids=["61", "42"])
    assert run("list") == "2 configured: 42 61"


def test_remove_takes_districts_out(db):
    services.set_configured_districts(district_ids=["42", "61"])
    assert run("remove", "61") == "1 configured: 42"


def test_set_replaces_the_scope(db):
    services.set_configured_districts(district_ids=["42", "61"])
    assert run("set", "F", "7") == "2 configured: 7 F"


def test_set_without_ids_clears_the_scope(db):
    services.set_configured_districts(district_ids=["42"])
    assert run("set") == "No districts configured: every district is in scope."
    assert services.configured_districts() == ()


@pytest.mark.parametrize("action", ["add", "remove", "set"])
def test_bad_district_id_is_a_command_error_and_changes_nothing(db, action):
    services.set_configured_districts(district_ids=["42"])
    with pytest.raises(CommandError, match="Invalid district id '4242'"):
        run(action, "61", "4242")
    assert services.configured_districts() == ("42",)


@pytest.mark.parametrize("action", ["add", "remove"])
def test_add_or_remove_without_ids_is_a_command_error(db, action):
    with pytest.raises(CommandError, match=f"'{action}' needs at least one district id"):
        run(action)


def test_unknown_action_is_refused(db):
    with pytest.raises(CommandError):
        run("clear")
