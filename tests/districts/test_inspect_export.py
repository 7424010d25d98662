import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

DATA = Path(__file__).parent / "data"


def inspect(*args: str) -> str:
    out = StringIO()
    call_command("inspect_export", *args, stdout=out)
    return out.getvalue()


def test_prints_report_period_and_statistics_of_a_club_report():
    out = inspect(str(DATA / "clubperformance_d21_2024-09.csv"))

    assert "Report:          clubperformance" in out
    assert "District:        21" in out
    assert "Data month:      2024-09" in out
    assert "As of:           2024-09-22" in out
    assert "Closing period:  no" in out
    assert "Rows:            8 (23 columns)" in out
    assert "Membership:      active 136, base 130, net growth 6, new 23" in out
    assert "Distinguished:   D 1, S 1, P 1, M 0, total 3" in out


def test_json_output_holds_the_normalized_statistics():
    out = inspect(str(DATA / "clubperformance_d21_2026-06_closing_bom.csv"), "--json")

    data = json.loads(out)
    assert data["report"] == "clubperformance"
    assert data["district"] == "21"
    assert (data["data_month"], data["as_of"]) == ("2026-06", "2026-07-29")
    assert data["is_closing_period"] is True
    assert data["logical_date"] == "2026-06-30"
    assert data["rows"] == 6
    assert data["statistics"]["membership"]["active_members"] == 127
    assert len(data["statistics"]["club_details"]) == 6


def test_summary_lists_every_district():
    out = inspect(str(DATA / "districtsummary_2025-06_closing.csv"))

    assert "Report:          districtsummary" in out
    assert "Closing period:  yes" in out
    table = out.split("Distinguished")[-1].splitlines()
    assert [line.split()[0] for line in table if line.strip()] == ["2", "F", "21", "130", "U"]


def test_summary_json_gives_a_list_of_districts():
    data = json.loads(inspect(str(DATA / "districtsummary_2025-12_closing.csv"), "--json"))

    assert [s["district_id"] for s in data["statistics"]] == ["2", "21", "128"]
    assert data["statistics"][0]["detail"] == "summary"


def test_header_only_file_reports_no_data():
    out = inspect(str(DATA / "clubperformance_d99_header_only.csv"))

    assert "Rows:            0" in out
    assert "No data rows" in out


def test_district_report_shows_its_payments():
    out = inspect(str(DATA / "districtperformance_d21_2024-09.csv"))

    assert "Payments:        new 20, Oct 63, Apr 0, late 1, charter 25, total 109" in out
    assert "Warning" not in out


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("error_page.html", "HTML page"),
        ("clubperformance_d21_truncated.csv", "broken CSV"),
        ("wrong_header.csv", "unknown header"),
    ],
)
def test_invalid_file_exits_1_with_the_validation_error(name, message):
    with pytest.raises(CommandError, match=f"validation_failed: .*{message}") as raised:
        inspect(str(DATA / name))

    assert raised.value.returncode == 1


def test_missing_file_exits_1():
    with pytest.raises(CommandError, match="Cannot read") as raised:
        inspect(str(DATA / "no-such-file.csv"))

    assert raised.value.returncode == 1
