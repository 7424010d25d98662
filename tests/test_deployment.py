"""Deployment defaults: no placeholder secret with DEBUG off, `check --deploy` clean with the
environment docker-compose.yml sets, the simulator off the host network unless the dev profile
asks, and local runs (make, manage.py, the tests) with a key of their own."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def django_process(code: str, **env: str) -> subprocess.CompletedProcess:
    """`code` run after django.setup() in a fresh interpreter with `env` over this one's
    (SECRET_KEY and DEBUG removed unless given)."""
    base = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "backfill_project.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "key,problem",
    [
        ("change-me", "is a placeholder"),
        ("dev-only-insecure-key-change-me", "is a placeholder"),
        ("", "is empty"),
        ("django-insecure-" + "x" * 50, "is a placeholder"),
        ("s3cret", "is too short"),
    ],
)
def test_debug_off_refuses_a_placeholder_or_empty_secret_key(key, problem):
    done = django_process("print('started')", SECRET_KEY=key)
    assert done.returncode != 0
    assert "started" not in done.stdout
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"django.core.exceptions.ImproperlyConfigured: SECRET_KEY {problem}")
    assert "with DEBUG off, set it to a long random string" in last


def test_debug_on_accepts_any_secret_key():
    done = django_process("print('started')", SECRET_KEY="change-me", DEBUG="1")
    assert (done.returncode, done.stdout.strip()) == (0, "started"), done.stderr


def test_a_local_run_gets_a_generated_key_kept_under_var_dir(tmp_path):
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    first = django_process(code, VAR_DIR=str(tmp_path))
    second = django_process(code, VAR_DIR=str(tmp_path))
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "secret_key"
    assert first.stdout.strip() == second.stdout.strip() == key_file.read_text().strip()
    assert len(first.stdout.strip()) >= 50
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # A local run serves plain HTTP on 127.0.0.1: no HTTPS redirect, no secure-only cookies.
    https = django_process(
        "from django.conf import settings; "
        "print(settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE)",
        VAR_DIR=str(tmp_path),
    )
    assert https.stdout.strip() == "False False"


def test_a_deployment_defaults_to_https_behind_a_proxy():
    done = django_process(
        "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, "
        "s.SECURE_PROXY_SSL_HEADER)",
        SECRET_KEY="k" * 25 + "ey-of-a-deployment-0123456789",
    )
    assert done.stdout.strip() == ("True True True 31536000 ('HTTP_X_FORWARDED_PROTO', 'https')"), (
        done.stderr
    )


def test_check_deploy_is_clean_with_the_compose_environment():
    """What CI runs (scripts/check-compose): `check --deploy --fail-level WARNING`."""
    done = subprocess.run(
        [sys.executable, "scripts/check-deploy"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


def test_compose_requires_a_secret_and_keeps_the_simulator_off_the_host_network():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert services["web"]["environment"]["SECRET_KEY"].startswith("${SECRET_KEY:?")
    assert "ports" not in services["simulator"]
    published = {
        name: service
        for name, service in services.items()
        if any("8765" in str(port) for port in service.get("ports", []))
    }
    assert published, "the dev profile publishes the simulator"
    for name, service in published.items():
        assert service.get("profiles") == ["dev"], name
        assert all(str(port).startswith("127.0.0.1:") for port in service["ports"]), name
    # Nothing else listens beyond the host's loopback but the web app.
    for name, service in services.items():
        for port in service.get("ports", []):
            assert name == "web" or str(port).startswith("127.0.0.1:"), (name, port)


def test_the_image_copies_every_package_the_project_installs():
    """The Dockerfile copies packages one by one: a new app missing there is an image that
    cannot start (INSTALLED_APPS names it)."""
    import tomllib

    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    included = {name.rstrip("*") for name in packages["packages"]["find"]["include"]}
    copied = {
        line.split()[1]
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("COPY ") and len(line.split()) == 3
    }
    assert included <= copied, sorted(included - copied)
