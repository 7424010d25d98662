"""The dashboard simulator as a process of its own (`manage.py run_dashboard_simulator`), over
real HTTP; the in-process simulator's behaviour is in tests/districts/test_simulator.py."""

from __future__ import annotations

from datetime import date

import requests

from districts.dashboard.reports import ReportType
from simulator import ProgramYear, SimulatedDashboard, render_export
from tests.fixtures.simulator import start_simulator_process

TODAY = date(2026, 9, 23)  # live program year 2026-2027
MONTH_END, AS_OF = date(2025, 3, 31), date(2025, 3, 14)


def get(url: str) -> requests.Response:
    return requests.get(url, timeout=10, allow_redirects=False)


def test_separate_process_simulator_serves_faults_from_its_command_line():
    process = start_simulator_process(fail_next=1, today=TODAY)
    try:
        url = (
            f"{process.base_url}/2024-2025/export.aspx?type=CSV&report="
            "clubperformance~21~3/31/2025~3/14/2025~2024-2025"
        )
        assert get(url).status_code == 500
        answer = get(url)
        assert answer.status_code == 200
        expected = SimulatedDashboard().export(
            report=ReportType.CLUB_PERFORMANCE,
            district_id="21",
            month_end=MONTH_END,
            as_of=AS_OF,
            program_year=str(ProgramYear.of(MONTH_END)),
        )
        assert answer.content == render_export(expected)
        assert [entry["status"] for entry in process.requests()] == [500, 200]
    finally:
        process.stop()
    assert process.process.poll() is not None
