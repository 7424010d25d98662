"""backfill_project/log_context.py: a unit's fields on every line it logs; JSON lines."""

from __future__ import annotations

import io
import json
import logging
import threading
from datetime import date

import pytest

from backfill_project import log_context


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
