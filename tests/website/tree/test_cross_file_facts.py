"""Any stored state publishes a tree whose cross-file facts hold (tests/website/tree_checks.py):
dates with and without the all-districts summary, month ends collected in their closing
period, districts coming and going, a program year's boundary; the newest date's analytics
cover exactly its districts with a district file (performance targets: and a ranking)."""

from __future__ import annotations

import json
import tempfile
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from districts.ids import site_district_id
from tests.website.stored import as_of_of, store_day
from tests.website.tree_checks import check_tree
from website.publishing import publish

pytestmark = pytest.mark.django_db

# Days the simulator serves in full: after the previous month's closing period, or month ends
# (collected in their own closing period), on both sides of the 2025-07-01 program year change.
DAYS = (
    date(2025, 5, 20),
    date(2025, 5, 31),
    date(2025, 6, 20),
    date(2025, 6, 30),
    date(2025, 8, 25),
    date(2025, 9, 30),
)
DISTRICTS = ("1", "2", "42", "61")

stored_dates = st.dictionaries(
    st.sampled_from(DAYS),
    st.tuples(st.sets(st.sampled_from(DISTRICTS), max_size=3), st.booleans()),
    min_size=1,
    max_size=3,
)


def _store(root: Path):
    return override_settings(
        SNAPSHOT_ROOT=root,
        STORAGES={
            **django_settings.STORAGES,
            "snapshots": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(root)},
            },
        },
    )


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(state=stored_dates)
def test_any_stored_state_publishes_a_tree_whose_cross_file_facts_hold(state):
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        (root / "store").mkdir()
        with _store(root / "store"):
            for day, (districts, summary) in state.items():
                store_day(day, sorted(districts), summary=summary)
            outcome = publish(f"file://{root / 'cdn'}")
            published = {d for d, (ids, summary) in state.items() if ids or summary}
            if not published:
                assert outcome.written == 0
                return
            tree = check_tree(root / "cdn")
            assert tree["v1/dates.json"]["dates"] == sorted(d.isoformat() for d in published)
            for day, (districts, _) in state.items():
                if day in published and districts and as_of_of(day) != day:
                    metadata = tree[f"snapshots/{day}/metadata.json"]
                    assert metadata["isClosingPeriodData"] is True
                    assert metadata["collectionDate"] == as_of_of(day).isoformat()
                    assert metadata["logicalDate"] == day.isoformat()
            newest = max(published)
            districts, summary = state[newest]
            analytics = root / "cdn" / "snapshots" / newest.isoformat() / "analytics"
            present = {p.name for p in analytics.glob("district_*.json")}
            site_ids = [site_district_id(d) for d in districts]
            assert present == {
                f"district_{d}_performance-targets.json" for d in (site_ids if summary else ())
            } | {f"district_{d}_analytics.json" for d in site_ids}
            again = publish(f"file://{root / 'cdn'}")
            assert again.written == 0
            latest = json.loads((root / "cdn" / "v1" / "latest.json").read_bytes())
            assert latest["latestSnapshotDate"] == max(published).isoformat()
