import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

DATA = Path(__file__).parents[1] / "data"


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


# --- contracts, era cross-check, limits ---------------------------------------------------

CLUB_2024 = DATA / "clubperformance_d21_2024-09.csv"


def edited(tmp_path, old: bytes, new: bytes, source: Path = CLUB_2024) -> str:
    data = source.read_bytes()
    assert old in data
    path = tmp_path / "edited.csv"
    path.write_bytes(data.replace(old, new))
    return str(path)


@pytest.mark.parametrize(
    "column", ["Active Members", "Mem. Base", "Club Distinguished Status", "Club Status"]
)
def test_renamed_required_column_exits_1_naming_the_column_and_era(tmp_path, column):
    path = edited(tmp_path, f'"{column}"'.encode(), f'"{column} (new)"'.encode())

    with pytest.raises(CommandError) as raised:
        inspect(path)

    assert raised.value.returncode == 1
    assert str(raised.value).endswith(
        "validation_failed: clubperformance (2020-07..2025-06 era, 23 columns) lacks required "
        f"column(s): {column}"
    )


def test_worded_distinguished_status_exits_1_naming_club_and_value(tmp_path):
    path = edited(tmp_path, b'"1","P"\r\n', b'"1","Presidents Distinguished"\r\n')

    with pytest.raises(CommandError, match=r"club 05551234.*'Presidents Distinguished'"):
        inspect(path)


# The real closed-year file: a 2020-07..2025-06 header under the footer the site writes when it
# serves an archived year's final file with today's as-of.
CLOSED_YEAR_FOOTER = (b"Month of Sep, As of 09/22/2024", b"Month of Jun, As of 08/20/2026")


def test_header_era_contradicting_the_footer_month_is_said_plainly_and_no_year_is_printed(
    tmp_path,
):
    out = inspect(edited(tmp_path, *CLOSED_YEAR_FOOTER))

    assert "Era conflict:" in out
    assert "the header is that of clubperformance (2020-07..2025-06 era, 23 columns)" in out
    assert "data month 2026-06 belongs to clubperformance (2025-07.. era, 25 columns)" in out
    assert "--program-year" in out
    assert "Program year:    unknown" in out
    assert "2025-2026" not in out
    assert "Membership:" not in out


def test_era_conflict_json_leaves_the_period_out(tmp_path):
    data = json.loads(inspect(edited(tmp_path, *CLOSED_YEAR_FOOTER), "--json"))

    assert data["era_conflict"].startswith("the header is that of clubperformance")
    assert (data["data_month"], data["program_year"], data["statistics"]) == (None, None, None)


def test_program_year_places_the_footer_month_in_that_year(tmp_path):
    out = inspect(edited(tmp_path, *CLOSED_YEAR_FOOTER), "--program-year", "2024-2025")

    assert "Data month:      2025-06" in out
    assert "Program year:    2024-2025" in out
    assert "Logical date:    2025-06-30" in out
    assert "Era conflict" not in out
    assert "Membership:      active 136, base 130, net growth 6, new 23" in out


def test_a_year_end_file_fetched_two_years_later_is_not_in_its_closing_period(tmp_path):
    # June 2025's final file as of 2026-08-20: June closed in July 2025.
    path = edited(tmp_path, *CLOSED_YEAR_FOOTER)
    out = inspect(path, "--program-year", "2024-2025")
    data = json.loads(inspect(path, "--program-year", "2024-2025", "--json"))

    assert "Closing period:  no" in out
    assert "Logical date:    2025-06-30" in out
    assert (data["is_closing_period"], data["logical_date"]) == (False, "2025-06-30")
    assert data["statistics"]["is_closing_period"] is False


def test_program_year_the_header_era_contradicts_exits_1(tmp_path):
    with pytest.raises(
        CommandError, match=r"belongs to clubperformance \(2025-07\.\. era"
    ) as raised:
        inspect(edited(tmp_path, *CLOSED_YEAR_FOOTER), "--program-year", "2025-2026")

    assert raised.value.returncode == 1


def test_consistent_file_prints_its_program_year():
    out = inspect(str(DATA / "clubperformance_d21_2026-06_closing_bom.csv"))

    assert "Program year:    2025-2026" in out
    assert "Header era:      clubperformance (2025-07.. era, 25 columns)" in out
    assert "Era conflict" not in out


def test_file_over_the_response_size_limit_is_refused(tmp_path, settings):
    settings.DASHBOARD_MAX_RESPONSE_BYTES = 1000
    path = tmp_path / "big.csv"
    path.write_bytes(CLUB_2024.read_bytes())

    with pytest.raises(CommandError, match="1,649 bytes is over the response size limit") as raised:
        inspect(str(path))

    assert raised.value.returncode == 1


def test_size_limit_reads_no_more_than_the_limit(tmp_path, settings, monkeypatch):
    settings.DASHBOARD_MAX_RESPONSE_BYTES = 4096
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:  # sparse: 50 MB on disk costs nothing
        handle.truncate(50 * 1024 * 1024)
    reads = []
    real_open = open

    def recording_open(*args, **kwargs):
        handle = real_open(*args, **kwargs)
        real_read = handle.read
        handle.read = lambda size=-1: reads.append(size) or real_read(size)
        return handle

    monkeypatch.setattr("builtins.open", recording_open)

    with pytest.raises(CommandError, match="52,428,800 bytes is over"):
        inspect(str(path))

    assert reads == [4097]


@pytest.mark.parametrize(
    ("footer", "message"),
    [
        (b"Month of Sep, As of 09/22/2099", "lies in the future"),
        (b"Month of Sep, As of 09/22/2007", "before 2008-07"),
    ],
)
def test_footer_far_in_the_future_or_before_2008_exits_1(tmp_path, footer, message):
    with pytest.raises(CommandError, match=message) as raised:
        inspect(edited(tmp_path, b"Month of Sep, As of 09/22/2024", footer))

    assert raised.value.returncode == 1


def test_unknown_column_is_listed_once_and_the_figures_stand(tmp_path):
    path = edited(
        tmp_path,
        b'"CSP"',
        b'"Club Success Plan"',
        DATA / "clubperformance_d21_2026-06_closing_bom.csv",
    )

    out = inspect(path)

    assert out.count("Club Success Plan") == 1
    assert "Ignored columns: Club Success Plan" in out
    assert "Membership:      active 127" in out
