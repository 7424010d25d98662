"""Browser tests: a real Chromium driving the admin on a live server (some with a worker
process too). Every test collected under this folder is marked `browser`."""

from pathlib import Path

import pytest

from tests.fixtures.tiers import mark_folder


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    mark_folder(items, Path(__file__).parent, pytest.mark.browser)
