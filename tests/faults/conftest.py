"""Fault-injection tests that kill processes (`make faults`). Every test collected under this
folder is marked `faults`, so `make test` leaves it out."""

from pathlib import Path

import pytest

from tests.fixtures.tiers import mark_folder


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    mark_folder(items, Path(__file__).parent, pytest.mark.faults)
