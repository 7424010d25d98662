"""Which unit a log line is about: job id, unit id, date and district on every line a unit
logs, whichever module logs it (the engine, the dashboard client, the limits, the store).

`unit_context(...)` binds them in a context variable for the duration of a unit (set where
units execute, backfill/services/execution.py); `UnitContextFilter`, installed on the handlers
by settings LOGGING, copies them onto every record as `job_id`, `unit_id`, `logical_date` and
`district_id` ("" outside a unit), so the plain format can show them and the JSON format
(`LOG_FORMAT=json`, `JsonFormatter`) carries them as fields for log shippers.

A context variable, not a thread-local: a thread started inside a unit (its lease keeper)
keeps the unit's context when it is started with `contextvars.copy_context().run`.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator
from datetime import date

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

FIELDS = ("job_id", "unit_id", "logical_date", "district_id")

_unit: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "backfill_unit", default=None
)


@contextlib.contextmanager
def unit_context(
    *, job_id: object, unit_id: object, logical_date: date | str, district_id: str
) -> Iterator[None]:
    """Every log line inside the block carries this unit's job, id, date and district."""
    token = _unit.set(
        {
            "job_id": str(job_id),
            "unit_id": str(unit_id),
            "logical_date": str(logical_date),
            "district_id": str(district_id),
        }
    )
    try:
        yield
    finally:
        _unit.reset(token)


def current() -> dict[str, str]:
    """The unit bound now ({} outside a unit)."""
    return dict(_unit.get() or {})


class UnitContextFilter(logging.Filter):
    """Adds the unit's fields to every record ("" outside a unit); never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        bound = _unit.get() or {}
        for field in FIELDS:
            if not hasattr(record, field):
                setattr(record, field, bound.get(field, ""))
        return True


class PlainFormatter(logging.Formatter):
    """The human format; a unit's line ends with `[job .. unit .. date district]`."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        if getattr(record, "unit_id", ""):
            line = (
                f"{line} [job {record.job_id} unit {record.unit_id} "
                f"{record.logical_date} district {record.district_id}]"
            )
        return line


class JsonFormatter(_JsonFormatter):
    """One JSON object per line: time, level, logger, message, the unit's fields when a unit is
    bound, the process and any `extra=` given (python-json-logger)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault(
            "rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"}
        )
        kwargs.setdefault("timestamp", False)
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s %(process)d", **kwargs)

    def add_fields(self, log_data: dict, record: logging.LogRecord, message_dict: dict) -> None:
        super().add_fields(log_data, record, message_dict)
        for field in FIELDS:
            # Outside a unit the empty fields are left out: a shipper sees them only when set.
            if not log_data.get(field):
                log_data.pop(field, None)
