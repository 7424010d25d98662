"""`manage.py check_health`: the containers' healthcheck of worker and beat."""

import json

import pytest
import yaml
from django.conf import settings
from django.core.management import CommandError, call_command

from alerts.health.checks import CHECKS
from backfill_project import heartbeat


def test_it_prints_each_check_and_fails_naming_the_failed_one(db, private_prefix, capsys):
    heartbeat.beat_worker("celery@here")
    call_command("check_health", "--check", "database", "--check", "workers")
    assert list(json.loads(capsys.readouterr().out)) == ["database", "workers"]
    with pytest.raises(CommandError, match=r"^beat: beat has not sent a task in the last day$"):
        call_command("check_health", "--check", "beat")


def test_every_service_of_the_compose_file_checks_its_health():
    compose = yaml.safe_load((settings.BASE_DIR / "docker-compose.yml").read_text())
    services = compose["services"]
    web = " ".join(services["web"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/readyz?" in web
    for name in ("worker", "beat"):
        test = services[name]["healthcheck"]["test"]
        assert test[:4] == ["CMD", "python", "manage.py", "check_health"]
        assert set(test[5::2]) <= set(CHECKS)
