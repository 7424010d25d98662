"""End-to-end tests: processes of the project (a Celery worker, the simulator, snapshot writers
killed mid-write) over real HTTP, PostgreSQL and Redis. Every test collected under this folder
is marked `e2e` (`make test-fast` skips them)."""

from pathlib import Path

import pytest

from tests.fixtures.tiers import mark_folder


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    mark_folder(items, Path(__file__).parent, pytest.mark.e2e)
