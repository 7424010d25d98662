"""`make bench` parsing: the CPU one per-district unit costs when it only reads and writes the
store (re-normalizing from the raw archive), without the engine around it.

The simulator's data for 120 districts on a day of each club-report era (2019-09-15,
2024-09-15, 2025-09-15: 360 units) is rendered as the dashboard's CSVs once; then, per unit,
the timed path is the production one: `district_from` over the three CSVs (each accepted by
`collect.accept`: parsed, contract-checked, checked against the request) and the district
file's bytes as `store.write_district` writes them (`store.district_file_bytes`). No disk, no
database: CPU seconds (`time.process_time`) per unit, the best of a few rounds since the
machine is shared.

Every produced district file is hashed; `identical_files` compares the digest with the one
measured on the parser before it was made fast (`EXPECTED_SHA256`), so a faster parser that
stores different bytes shows up here. The digest depends on the simulator's data: a change to
the simulator's generation changes it too (re-measure on the previous parser, then update it).
"""

from __future__ import annotations

import hashlib
import time
from datetime import date

from districts.dashboard.collect import accept, district_from
from districts.dashboard.reports import PER_DISTRICT_REPORTS, ReportType
from districts.dashboard.urls import ExportRequest, month_end
from simulator import generation
from simulator.exports import SimulatedDashboard
from simulator.periods import ProgramYear
from simulator.rendering import render_export
from snapshots import store

# One day of each clubperformance header era (legacy, 2020, 2025), none a month's last day
# (whose request would ask the closing-dates registry, i.e. the database).
DAYS = (date(2019, 9, 15), date(2024, 9, 15), date(2025, 9, 15))
DISTRICTS = 120
ROUNDS = 3
# sha256 over every district file's bytes, in unit order, measured with the parser of
# commit be3a1c6 (before the per-column checks).
EXPECTED_SHA256 = "9938b2a9a94d4b55e68c83a7437f41a95ee1c633533de35cdea2535bed695749"

Unit = tuple[str, date, dict[ReportType, bytes]]


def generate_units(days: tuple[date, ...] = DAYS, districts: int = DISTRICTS) -> list[Unit]:
    """The three CSVs of `districts` districts on each of `days`, as the dashboard serves them."""
    dashboard = SimulatedDashboard(seed=0)
    units = []
    for day in days:
        year = ProgramYear.of(day)
        for district_id in generation.district_ids(year.start)[:districts]:
            exports = {
                report: render_export(
                    dashboard.export(
                        report=report,
                        district_id=district_id,
                        month_end=month_end(day),
                        as_of=day,
                        program_year=str(year),
                    )
                )
                for report in PER_DISTRICT_REPORTS
            }
            units.append((district_id, day, exports))
    return units


def unit_bytes(unit: Unit) -> bytes:
    """One unit's work: accept its three CSVs, normalize them, encode the district file."""
    district_id, day, exports = unit

    def fetch(request: ExportRequest):
        data = exports[request.report]
        return accept(data, request), data

    collected = district_from(fetch, district_id=district_id, logical_date=day)
    return store.district_file_bytes(collected.statistics)


def run(days: tuple[date, ...] = DAYS, districts: int = DISTRICTS) -> dict:
    units = generate_units(days, districts)
    clubs = sum(
        max(data.count(b"\r\n") - 2, 0) for _, _, exports in units for data in exports.values()
    )
    rounds = []
    digest = ""
    for _ in range(ROUNDS):
        hasher = hashlib.sha256()
        started = time.process_time()
        for unit in units:
            hasher.update(unit_bytes(unit))
        rounds.append(time.process_time() - started)
        digest = hasher.hexdigest()
    best = min(rounds)
    return {
        "units": len(units),
        "csv_rows_per_unit": round(clubs / len(units), 1),
        "cpu_ms_per_unit": round(best / len(units) * 1000, 2),
        "cpu_ms_per_unit_rounds": ", ".join(f"{r / len(units) * 1000:.2f}" for r in rounds),
        "files_sha256": digest,
        "identical_files": digest == EXPECTED_SHA256,
    }
