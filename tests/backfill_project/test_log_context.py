"""backfill_project/log_context.py: a unit's fields on every line it logs; JSON lines."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import threading
from datetime import date

import pytest

from backfill_project import log_context
from tests.fixtures.backfill import ROOT


@pytest.fixture
def capture():
    """A handler configured as settings LOGGING configures the console (filter + formatter)."""

    def attach(formatter: logging.Formatter) -> io.StringIO:
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.addFilter(log_context.UnitContextFilter())
        handler.setFormatter(formatter)
        logger.addHandler(handler)
        handlers.append(handler)
        return stream

    logger = logging.getLogger("tests.log_context")
    logger.setLevel(logging.INFO)
    handlers: list[logging.Handler] = []
    yield attach
    for handler in handlers:
        logger.removeHandler(handler)


def unit():
    return log_context.unit_context(
        job_id="0f0e", unit_id=17, logical_date=date(2025, 3, 10), district_id="42"
    )


def test_json_lines_carry_the_unit_inside_and_nothing_outside(capture):
    stream = capture(log_context.JsonFormatter())
    log = logging.getLogger("tests.log_context")
    with unit():
        log.warning("attempt %s failed", 2)
    log.info("between units")

    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["message"] == "attempt 2 failed"
    assert inside["level"] == "WARNING" and inside["logger"] == "tests.log_context"
    assert (inside["job_id"], inside["unit_id"], inside["logical_date"], inside["district_id"]) == (
        "0f0e",
        "17",
        "2025-03-10",
        "42",
    )
    assert "time" in inside
    assert not set(log_context.FIELDS) & set(outside)
    assert outside["message"] == "between units"


def test_the_plain_format_ends_a_units_line_with_its_fields(capture):
    stream = capture(log_context.PlainFormatter("%(levelname)s %(message)s"))
    log = logging.getLogger("tests.log_context")
    with unit():
        log.info("stored")
    log.info("idle")
    assert stream.getvalue().splitlines() == [
        "INFO stored [job 0f0e unit 17 2025-03-10 district 42]",
        "INFO idle",
    ]


def test_contexts_nest_and_restore(capture):
    with unit():
        with log_context.unit_context(
            job_id="j2", unit_id=2, logical_date="2025-03-11", district_id="F"
        ):
            assert log_context.current()["unit_id"] == "2"
        assert log_context.current()["unit_id"] == "17"
    assert log_context.current() == {}


def test_another_thread_does_not_see_a_unit_it_was_not_given():
    seen: list[dict] = []
    with unit():
        thread = threading.Thread(target=lambda: seen.append(log_context.current()))
        thread.start()
        thread.join()
    assert seen == [{}]


def test_settings_choose_the_formatter_from_log_format(settings):
    assert settings.LOGGING["handlers"]["console"]["filters"] == ["unit"]
    assert settings.LOGGING["handlers"]["console"]["formatter"] == settings.LOG_FORMAT
    assert set(settings.LOGGING["formatters"]) == {"plain", "json"}


def run_logging(log_format: str) -> subprocess.CompletedProcess:
    code = (
        "import django, logging; django.setup()\n"
        "from backfill_project import log_context as c\n"
        "with c.unit_context(job_id='j1', unit_id=5, logical_date='2025-03-10', district_id='F'):\n"
        "    logging.getLogger('backfill.example').warning('inside')\n"
        "logging.getLogger('backfill.example').warning('outside')\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "backfill_project.settings",
            "LOG_FORMAT": log_format,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_log_format_json_gives_one_object_per_line_through_settings():
    result = run_logging("json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    inside, outside = (line for line in lines if line["logger"] == "backfill.example")
    assert (inside["message"], inside["district_id"], inside["unit_id"]) == ("inside", "F", "5")
    assert outside["message"] == "outside" and "unit_id" not in outside


def test_an_unknown_log_format_stops_the_process_naming_it():
    result = run_logging("xml")
    assert result.returncode != 0
    assert "LOG_FORMAT must be `plain` or `json`, not 'xml'" in result.stderr
