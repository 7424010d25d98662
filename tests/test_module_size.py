"""No module of the engine, the store, analytics, the dashboard layer, the site, operations, the
simulator or the project package grows past 500 lines: a module that long does more than one
job, and its behaviours lose their one home. Run by `make test` (and `make lint` checks the
import contracts in pyproject.toml)."""

from __future__ import annotations

from pathlib import Path

MAX_LINES = 500
ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "backfill",
    "snapshots",
    "analytics",
    "districts",
    "website",
    "monitoring",
    "alerts",
    "simulator",
    "backfill_project",
)


def long_modules() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > MAX_LINES:
                found.append(f"{path.relative_to(ROOT)}: {lines} lines")
    return found


def test_no_module_is_over_500_lines():
    found = long_modules()
    assert not found, f"split by concern (at most {MAX_LINES} lines each):\n" + "\n".join(found)
