"""The seed's correctness properties (seed 001, "Correctness Properties"), one hypothesis test of
at least 100 examples each, tagged `Feature: unified-backfill-service, Property N: <title>`.

Every module here is marked `properties`. Hypothesis runs a test's examples inside one pytest
test, so function-scoped fixtures (database, Redis prefix, simulator) are shared by the examples
on purpose (the `function_scoped_fixture` health check is suppressed where they are used); each
example starts from its own state instead: its own snapshot store (`fresh_store`), its own
configured scope, its own jobs.

`engine` runs jobs in this process exactly as a Celery worker would: the messages the engine
sends to the broker (`broker.send`, the one place that talks to Celery) are queued here and
`drain()` runs each through the Celery task it names (`backfill.tasks.*`, called in-process),
with the real PostgreSQL, Redis limiter/breaker/cache, the simulator over HTTP and the snapshot
store. A countdown (a unit's retry after a transient error) is not waited for.
"""

from __future__ import annotations

import tempfile
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from celery import current_app
from django.test import override_settings

# Register the tasks the messages name: the engine's, and the alerts' evaluation that a job
# ending failed or partial_success asks for.
import alerts.tasks  # noqa: F401
import backfill.tasks  # noqa: F401
from backfill import limits
from backfill.models import BackfillJob
from backfill.services import broker, dispatch

# Dates whose exports the simulator serves (no closing period, no month end): the pool the
# engine properties draw from, small so that the response cache serves repeated exports.
COLLECTABLE_DATES = tuple(date(2025, 3, day) for day in range(10, 18))
# Districts of the simulated dashboard in 2024-2025 (summary and per-district reports).
DISTRICT_POOL = ("2", "9", "21", "42", "61", "73", "101", "F")


@dataclass
class Engine:
    """The broker's messages, run in this process by the tasks they name."""

    messages: deque = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, task: str, *args, countdown: float | None = None) -> None:
        with self.lock:
            self.messages.append((task, args))

    def pop(self) -> tuple[str, tuple] | None:
        with self.lock:
            return self.messages.popleft() if self.messages else None

    def run(self, task: str, args: tuple) -> None:
        # Executed here, with a worker's request context (its hostname names the unit's lease
        # holder, as in a worker process); an exception is raised, not stored.
        current_app.tasks[task].apply(args=args, throw=True)

    def drain(self, limit: int = 2_000) -> None:
        """Run messages until none is left (a job ends by itself once its units have)."""
        for _ in range(limit):
            message = self.pop()
            if message is None:
                return
            self.run(*message)
        raise AssertionError(f"still {len(self.messages)} messages after {limit}")

    def run_job(self, job: BackfillJob) -> BackfillJob:
        dispatch.start_queued_jobs()
        self.drain()
        job.refresh_from_db()
        return job


@pytest.fixture
def engine(monkeypatch, backfill_env, fast_limits) -> Engine:
    """The in-process worker (see the module docstring), on the test's private queue and Redis
    prefix, with the simulator and a full-speed rate limit."""
    # No adaptive slow-down beyond a millisecond: politeness is tested on its own, and an
    # example's injected failures must not slow the next examples down.
    fast_limits.max_delay_ms = 1
    fast_limits.save()
    limits.clear_settings_cache()
    handle = Engine()
    monkeypatch.setattr(broker, "send", handle.send)
    return handle


@contextmanager
def fresh_store() -> Iterator[Path]:
    """A snapshot store of its own for one example (a date's snapshot accumulates every
    collection of that date, so an example must not see another's files)."""
    with tempfile.TemporaryDirectory(prefix="properties-") as root:
        storages = {
            "snapshots": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": root},
            }
        }
        from django.conf import settings

        with override_settings(
            SNAPSHOT_ROOT=Path(root), STORAGES={**settings.STORAGES, **storages}
        ):
            yield Path(root)


def reset_limits() -> None:
    """Close the shared circuit breaker and forget the limiter's state (grants, cooldown,
    adaptive delay): the failures of one example must not slow down or refuse the next's
    requests (their own behaviour is tested in tests/backfill/test_limits*.py)."""
    limits.circuit_breaker().clear()
    limits.rate_limiter().clear()
