"""The README's API examples, run as written (curl, bash) against a live server.

Every fenced block marked ```sh api-example is concatenated into one bash script (`set -euo
pipefail`, so the first failing command fails the test) and run with `API` pointing at the live
server and `TOKEN` a staff user's token. Messages to Celery are dropped: what is checked is that
each documented call is accepted as documented.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from backfill.services import broker
from tests.fixtures.api import staff_member

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"^```sh api-example\n(.*?)^```", re.S | re.M)


def examples() -> str:
    blocks = BLOCK.findall(README.read_text())
    assert blocks, "the README has no ```sh api-example block"
    return "\n".join(blocks)


def test_the_readme_has_curl_examples_for_every_job_endpoint():
    script = examples()
    for path in ("/admin/backfill", "/pause", "/resume", "/retry", "/jobs", "/preview"):
        assert path in script
    assert "config/rate-limit" in script and "/districts/backfill" in script
    for path in ('/admin/analytics"', "/admin/analytics/districts/", "/admin/analytics/rankings"):
        assert path in script


@pytest.mark.django_db(transaction=True)
def test_the_readme_api_examples_run_as_written(
    live_server, tmp_path, monkeypatch, snapshot_root, analytics_data
):
    monkeypatch.setattr(broker, "send", lambda *args, **kwargs: None)
    user = staff_member("admin")
    token = Token.objects.create(user=user).key
    result = subprocess.run(
        ["bash", "-c", "set -euo pipefail -x\n" + examples()],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "API": f"{live_server.url}/api", "TOKEN": token},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    assert result.stdout.count('"jobId"') >= 5
    assert '"status":"cancelled"' in result.stdout
    assert '"code":"job_state_conflict"' in result.stdout  # the retry of a cancelled job
    assert '"backfillId"' in result.stdout
    assert '"kind":"district-time-series"' in result.stdout and '"kind":"rankings"' in result.stdout
