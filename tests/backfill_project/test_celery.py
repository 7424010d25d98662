"""backfill_project/celery.py: workers' and beat's lines carry the unit's fields too; a pool
process keeps what it started with out of the garbage collector's walks."""

from __future__ import annotations

import gc
import io
import json
import logging

import pytest
from celery import signals

from backfill_project import log_context
from backfill_project.celery import unit_fields_on_worker_lines

CELERY_FORMAT = "[%(asctime)s: %(levelname)s/%(processName)s] %(message)s"


@pytest.fixture
def worker_logger():
    stream = io.StringIO()
    logger = logging.getLogger("tests.celery_worker")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    yield logger, stream
    logger.removeHandler(handler)


def log_a_unit(logger: logging.Logger) -> None:
    with log_context.unit_context(
        job_id="j9", unit_id=3, logical_date="2025-03-10", district_id="42"
    ):
        logger.info("unit 3 ended succeeded")


def test_celerys_format_is_kept_and_the_unit_appended(worker_logger, settings):
    logger, stream = worker_logger
    settings.LOG_FORMAT = "plain"
    unit_fields_on_worker_lines(logger=logger, format=CELERY_FORMAT)
    log_a_unit(logger)
    line = stream.getvalue().strip()
    assert line.startswith("[") and ": INFO/MainProcess] unit 3 ended succeeded" in line
    assert line.endswith("[job j9 unit 3 2025-03-10 district 42]")


def test_log_format_json_applies_to_workers(worker_logger, settings):
    logger, stream = worker_logger
    settings.LOG_FORMAT = "json"
    unit_fields_on_worker_lines(logger=logger, format=CELERY_FORMAT)
    log_a_unit(logger)
    line = json.loads(stream.getvalue())
    assert (line["message"], line["job_id"], line["district_id"]) == (
        "unit 3 ended succeeded",
        "j9",
        "42",
    )


def test_a_pool_process_freezes_the_objects_it_starts_with():
    gc.unfreeze()
    try:
        signals.worker_process_init.send(sender=None)
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
