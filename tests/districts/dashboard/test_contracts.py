"""Report contracts (districts/dashboard/reports.py CONTRACTS), tested from the contracts.

Every case is generated from `reports.CONTRACTS` and `reports.FIELD_KINDS` over files the
simulator renders in each report's real shape (and the real-shaped fixtures), so a contract
change is tested without editing this module.
"""

import contextlib
import csv
import io
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from districts.dashboard import reports
from districts.dashboard.csv import accept_export, parse_export
from districts.dashboard.errors import DashboardError, ValidationFailed
from districts.dashboard.normalize import normalize_district, normalize_single
from districts.dashboard.reports import CONTRACTS, FIELD_KINDS, ColumnKind, ReportType
from districts.dashboard.statistics import DistrictStatistics, DuplicateRow
from simulator.exports import SimulatedDashboard
from simulator.periods import last_of_month
from simulator.rendering import render_export

DATA = Path(__file__).parents[1] / "data"
ALL_CONTRACTS = [contract for contracts in CONTRACTS.values() for contract in contracts]


def era_month(contract: reports.Contract) -> date:
    """A September inside the contract's era (every era starts or ends with a July)."""
    if contract.first_month is not None:
        return date(contract.first_month[0], 9, 1)
    if contract.end_month is not None:
        return date(contract.end_month[0] - 1, 9, 1)
    return date(2024, 9, 1)


def program_year(month: date) -> str:
    start = month.year if month.month >= 7 else month.year - 1
    return f"{start}-{start + 1}"


def simulated_file(contract: reports.Contract) -> bytes:
    """The simulator's file of this report and era for district 21: real shape, real values."""
    month = era_month(contract)
    export = SimulatedDashboard(seed=0).export(
        report=contract.report,
        district_id=None if contract.report == ReportType.DISTRICT_SUMMARY else "21",
        month_end=last_of_month(month),
        as_of=month.replace(day=20),
        program_year=program_year(month),
    )
    assert export.rows and export.header == contract.header
    return render_export(export)


def contract_id(contract: reports.Contract) -> str:
    return f"{contract.report}-{contract.era}"


# --- editing a CSV by columns ----------------------------------------------------------------


def split(data: bytes) -> tuple[list[list[str]], str]:
    """(header and data rows, footer line) of a rendered export."""
    lines = data.decode("utf-8-sig").replace("\r\n", "\n").strip("\n").split("\n")
    records = [r for r in csv.reader(io.StringIO("\n".join(lines[:-1]))) if any(r)]
    return records, lines[-1]


def join(records: list[list[str]], footer: str) -> bytes:
    def line(cells):
        return ",".join('"' + cell.replace('"', '""') + '"' for cell in cells)

    return ("\r\n".join([*map(line, records), footer]) + "\r\n").encode()


def with_columns(data: bytes, order: list[int], *, header: list[str] | None = None) -> bytes:
    """The file with its columns taken in `order` (a subset drops columns)."""
    records, footer = split(data)
    rows = [[record[i] for i in order] for record in records]
    if header is not None:
        rows[0] = header
    return join(rows, footer)


def column_index(data: bytes, name: str) -> int:
    return split(data)[0][0].index(name)


def renamed(data: bytes, name: str, new_name: str) -> bytes:
    records, footer = split(data)
    records[0][records[0].index(name)] = new_name
    return join(records, footer)


def removed(data: bytes, name: str) -> bytes:
    header = split(data)[0][0]
    return with_columns(data, [i for i, cell in enumerate(header) if cell != name])


def with_cell(data: bytes, row: int, column: int, text: str) -> bytes:
    records, footer = split(data)
    records[row][column] = text
    return join(records, footer)


# --- every required column of every era -----------------------------------------------------

REQUIRED_COLUMNS = [
    pytest.param(contract, contract.published_name(field), id=f"{contract_id(contract)}-{field}")
    for contract in ALL_CONTRACTS
    for field in sorted(contract.required)
]


@pytest.mark.parametrize(("contract", "column"), REQUIRED_COLUMNS)
def test_removed_required_column_is_refused_naming_report_era_and_column(contract, column):
    data = removed(simulated_file(contract), column)

    with pytest.raises(ValidationFailed) as refused:
        normalize_single(parse_export(data))

    message = refused.value.message
    assert refused.value.error_type == "validation_failed"
    assert str(contract.report) in message
    assert column in message
    assert contract.era in message


@pytest.mark.parametrize(("contract", "column"), REQUIRED_COLUMNS)
def test_renamed_required_column_is_refused_naming_it(contract, column):
    data = renamed(simulated_file(contract), column, f"{column} (renamed)")

    with pytest.raises(ValidationFailed) as refused:
        normalize_single(parse_export(data))

    assert f"lacks required column(s): {column}" in refused.value.message or (
        column in refused.value.message and "key column" in refused.value.message
    )


@pytest.mark.parametrize(("contract", "column"), REQUIRED_COLUMNS)
def test_export_built_in_code_without_a_required_column_is_refused_by_the_normalizer(
    contract, column
):
    parsed = parse_export(simulated_file(contract))
    field = reports.canonical_field(column)
    export = replace(
        parsed,
        header=tuple(name for name in parsed.header if name != column),
        rows=tuple({k: v for k, v in row.items() if k != field} for row in parsed.rows),
    )

    with pytest.raises(ValidationFailed, match="lacks required column"):
        normalize_single(export)


def test_every_era_has_a_contract_covering_its_month_and_the_simulator_meets_it():
    for contract in ALL_CONTRACTS:
        parsed = parse_export(simulated_file(contract))
        assert parsed.contract == contract
        assert parsed.month_contract == contract
        assert parsed.era_conflict is None
        assert parsed.unknown_columns == ()


# --- every checked column: a value outside its domain ---------------------------------------

# Cells outside each kind's domain; `""` only counts for required numeric columns.
BAD_CELLS = {
    ColumnKind.COUNT: ["12x", "-3", "1.5", "N/A"],
    ColumnKind.SIGNED: ["1.5", "x"],
    ColumnKind.GOALS: ["11", "-1", "many"],
    ColumnKind.CLUB_STATUS: ["Closed", "", "Active Club"],
    ColumnKind.LEVEL: ["Presidents Distinguished", "Distinguished", "X", "DS"],
    ColumnKind.FLAG: ["Yes", "1"],
    ColumnKind.PERCENT: ["lots", "8.2.9%"],
    ColumnKind.CLUB_NUMBER: ["<img src=x onerror=alert(1)>", "396a", "123456789", "-396", "٣٩٦"],
    ColumnKind.DIVISION: ["<b>A</b>", "AB", "1", "0A"],
    ColumnKind.AREA: ["<script>", "1", "123", "A1", "0D"],
}
CHECKED_CELLS = [
    pytest.param(contract, name, bad, id=f"{contract_id(contract)}-{name}-{bad}")
    for contract in ALL_CONTRACTS
    for name in contract.header
    if name and FIELD_KINDS[reports.canonical_field(name)] in BAD_CELLS
    for bad in BAD_CELLS[FIELD_KINDS[reports.canonical_field(name)]]
]


@pytest.mark.parametrize(("contract", "column", "bad"), CHECKED_CELLS)
def test_cell_outside_its_domain_is_refused_naming_line_column_and_value(contract, column, bad):
    data = simulated_file(contract)
    data = with_cell(data, 1, column_index(data, column), bad)

    with pytest.raises(ValidationFailed) as refused:
        parse_export(data)

    message = refused.value.message
    assert "line 2" in message
    assert f"{column} is {bad!r}" in message
    assert str(contract.report) in message


@pytest.mark.parametrize(
    ("name", "column"),
    [
        ("clubperformance_d21_2024-09.csv", "Club Number"),
        ("districtperformance_d21_2024-09.csv", "Club"),
        ("divisionperformance_d21_2024-09.csv", "Division"),
        ("divisionperformance_d21_2024-09.csv", "Area"),
    ],
)
def test_markup_in_an_id_is_refused_by_the_parser_and_the_normalizer(name, column):
    markup = "<img src=x onerror=alert(1)>"
    data = (DATA / name).read_bytes()
    bad = with_cell(data, 2, column_index(data, column), markup)

    with pytest.raises(ValidationFailed, match=f"line 3 .*{column} is '<img"):
        parse_export(bad)
    parsed = parse_export(data)
    field = reports.canonical_field(column)
    rows = tuple({**row, field: markup} if i == 1 else row for i, row in enumerate(parsed.rows))
    with pytest.raises(ValidationFailed, match=f"{column} is '<img"):
        normalize_single(replace(parsed, rows=rows))


def test_empty_count_in_a_required_column_is_refused():
    data = (DATA / "clubperformance_d21_2024-09.csv").read_bytes()
    data = with_cell(data, 1, column_index(data, "Active Members"), "")

    with pytest.raises(ValidationFailed, match="Active Members is ''"):
        parse_export(data)


def test_worded_distinguished_status_is_refused_not_an_undercount():
    data = (DATA / "clubperformance_d21_2024-09.csv").read_bytes()
    data = data.replace(b'"1","P"\r\n', b'"1","Presidents Distinguished"\r\n')

    with pytest.raises(ValidationFailed) as refused:
        normalize_single(parse_export(data))

    assert "club 05551234" in refused.value.message
    assert "Club Distinguished Status is 'Presidents Distinguished'" in refused.value.message


def test_renamed_club_status_is_validation_failed_not_a_key_error():
    data = renamed((DATA / "clubperformance_d21_2024-09.csv").read_bytes(), "Club Status", "Status")

    with pytest.raises(ValidationFailed, match=r"lacks required column.*Club Status"):
        normalize_single(parse_export(data))


def test_status_and_level_case_do_not_change_the_figures():
    data = (DATA / "clubperformance_d21_2024-09.csv").read_bytes()
    shouted = data.replace(b'"Active"', b'"ACTIVE"').replace(b'"P"\r\n', b'" p "\r\n')

    assert figures(normalize_single(parse_export(shouted))) == figures(
        normalize_single(parse_export(data))
    )
    statuses = {c.status for c in normalize_single(parse_export(shouted)).club_details}
    assert statuses == {"Active", "Low", "Suspended", "Ineligible"}


def test_code_built_export_with_a_worded_level_is_refused_by_the_normalizer():
    parsed = parse_export((DATA / "clubperformance_d21_2024-09.csv").read_bytes())
    rows = tuple({**row, "distinguished_status": "Distinguished"} for row in parsed.rows)

    with pytest.raises(ValidationFailed, match="Club Distinguished Status is 'Distinguished'"):
        normalize_single(replace(parsed, rows=rows))


# --- unknown columns -----------------------------------------------------------------------


def test_unknown_extra_column_is_accepted_and_reported_once():
    data = (DATA / "clubperformance_d21_2024-09.csv").read_bytes()
    records, footer = split(data)
    records = [[*record, "new" if i == 0 else "x"] for i, record in enumerate(records)]
    extended = join([[*records[0][:-1], "Club Coach"], *records[1:]], footer)

    parsed = parse_export(extended)
    stats = normalize_single(parsed)

    assert parsed.unknown_columns == ("Club Coach",)
    assert [w for w in stats.warnings if "Club Coach" in w] == [
        "clubperformance has column(s) outside its contract, ignored: Club Coach"
    ]
    assert figures(stats) == figures(normalize_single(parse_export(data)))


def test_unknown_summary_column_is_reported_in_each_district():
    data = (DATA / "districtsummary_2025-06_closing.csv").read_bytes()
    data = renamed(data, "DSP", "District Success Plan")

    stats = normalize_single(parse_export(data))

    assert all(
        "districtsummary has column(s) outside its contract, ignored: District Success Plan"
        in s.warnings
        for s in stats.values()
    )


# --- duplicate club rows -------------------------------------------------------------------


def test_identical_duplicate_rows_are_dropped_without_a_listing():
    parsed = parse_export((DATA / "clubperformance_d21_2024-09.csv").read_bytes())

    assert [r["club_number"] for r in parsed.rows].count("00000038") == 1
    assert parsed.duplicates == ()


def test_duplicate_rows_differing_only_in_spacing_or_case_are_identical():
    data = (DATA / "clubperformance_d21_2024-09.csv").read_bytes()
    # Found by the mutation property: the first row of club 38 re-spaced, its repeat unchanged.
    first = b'"00000038","First Canadian Toastmasters Club","Active"'
    respaced = first.replace(b'"Active"', b'" active "')
    parsed = parse_export(data.replace(first, respaced, 1))
    assert parsed.duplicates == ()


def conflicting_club_file() -> bytes:
    data = (DATA / "clubperformance_d21_2024-09.csv").read_bytes()
    # The fixture's last row repeats club 38 identically; make it disagree on the members.
    first = b'"00000038","First Canadian Toastmasters Club","Active","16","20"'
    head, _, tail = data.rpartition(first)
    return head + first.replace(b'"20"', b'"22"') + tail


def test_conflicting_duplicate_rows_keep_the_first_and_are_listed():
    parsed = parse_export(conflicting_club_file())

    assert parsed.duplicates == (
        DuplicateRow(
            report="clubperformance",
            club_number="00000038",
            kept_line=2,
            dropped_lines=(10,),
            reason="same club number with different cells: the first row in file order is "
            "kept (the dashboard lists a club once)",
        ),
    )
    kept = [r for r in parsed.rows if r["club_number"] == "00000038"]
    assert [r["active_members"] for r in kept] == ["20"]


def test_statistics_carry_the_duplicates_through_their_json_form():
    d21 = normalize_district(
        club_performance=parse_export(conflicting_club_file()),
        district_performance=parse_export(
            (DATA / "districtperformance_d21_2024-09.csv").read_bytes()
        ),
        division_performance=parse_export(
            (DATA / "divisionperformance_d21_2024-09.csv").read_bytes()
        ),
        district_id="21",
        logical_date=date(2024, 9, 22),
    )

    assert [(d.club_number, d.kept_line, d.dropped_lines) for d in d21.duplicate_rows] == [
        ("00000038", 2, (10,))
    ]
    assert d21.membership.active_members == 136
    assert DistrictStatistics.from_dict(d21.to_dict()) == d21


def test_statistics_written_before_duplicates_existed_read_as_none():
    d21 = normalize_single(parse_export((DATA / "clubperformance_d21_2024-09.csv").read_bytes()))
    old = d21.to_dict()
    del old["duplicate_rows"]

    assert DistrictStatistics.from_dict(old).duplicate_rows == ()


# --- property: a mutated file is refused or gives the same figures --------------------------


def figures(stats):
    """Everything the statistics say except the warnings (which report unknown columns)."""
    if isinstance(stats, dict):
        return {key: figures(value) for key, value in stats.items()}
    return replace(stats, warnings=()).to_dict()


BASE_FILES = [simulated_file(contract) for contract in ALL_CONTRACTS] + [
    (DATA / name).read_bytes()
    for name in (
        "clubperformance_d21_2024-09.csv",
        "clubperformance_d21_2026-06_closing_bom.csv",
        "clubperformance_d21_2019-06_legacy_lf.csv",
        "districtperformance_d21_2024-09.csv",
        "divisionperformance_d21_2024-09.csv",
        "districtsummary_2025-06_closing.csv",
        "districtsummary_2025-12_closing.csv",
    )
]
BASE_FIGURES = [figures(normalize_single(parse_export(data))) for data in BASE_FILES]


def neutral_variants(text: str) -> list[str]:
    # The same value written differently: case and surrounding blanks never change a figure.
    return [f" {text} ", text.lower(), text.upper()]


@st.composite
def mutated_files(draw):
    index = draw(st.integers(0, len(BASE_FILES) - 1))
    data = BASE_FILES[index]
    records, footer = split(data)
    header = records[0]
    columns = list(range(len(header)))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["rename", "drop", "reorder", "alter"]))
        column = draw(st.sampled_from(columns))
        if kind == "rename":
            header = [*header]
            header[column] = draw(st.sampled_from([f"{header[column]} (new)", "Notes", ""]))
        elif kind == "drop" and len(columns) > 1:
            columns = [c for c in columns if c != column]
        elif kind == "reorder":
            columns = draw(st.permutations(columns))
        elif kind == "alter":
            field = reports.canonical_field(records[0][column])
            if field is None or FIELD_KINDS[field] == ColumnKind.TEXT:
                continue  # free text (names, divisions) has no domain to leave
            row = draw(st.integers(1, len(records) - 1))
            cell = records[row][column]
            # Only values the figures cannot silently absorb: out of domain, or the same value.
            bad = BAD_CELLS[FIELD_KINDS[field]]
            records = [list(r) for r in records]
            records[row][column] = draw(st.sampled_from([*bad, *neutral_variants(cell)]))
    rows = [[record[c] for c in columns] for record in [header, *records[1:]]]
    return index, join(rows, footer)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated=mutated_files())
def test_mutated_file_is_refused_or_gives_the_same_figures(mutated):
    index, data = mutated
    try:
        result = normalize_single(parse_export(data))
    except DashboardError:
        return
    assert figures(result) == BASE_FIGURES[index]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order=st.permutations(range(len(reports.CLUB_PERFORMANCE_2025))))
def test_column_order_never_changes_the_figures(order):
    data = simulated_file(CONTRACTS[ReportType.CLUB_PERFORMANCE][2])

    reordered = with_columns(data, list(order))

    assert figures(normalize_single(parse_export(reordered))) == figures(
        normalize_single(parse_export(data))
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(0, len(BASE_FILES) - 1),
    position=st.integers(0, 10_000),
    junk=st.binary(min_size=1, max_size=8),
)
def test_parse_and_normalize_raise_only_dashboard_errors(index, position, junk):
    data = BASE_FILES[index]
    position %= len(data)
    mutated = data[:position] + junk + data[position + len(junk) :]
    footer = parse_export(data).footer
    with contextlib.suppress(DashboardError):
        normalize_single(parse_export(mutated))
    with contextlib.suppress(DashboardError):
        accept_export(
            mutated,
            report=parse_export(data).report,
            data_month=footer.data_month,
            as_of=footer.as_of,
            district_id="21",
        )


# --- era detection ---------------------------------------------------------------------------


def test_a_2025_26_header_without_csp_and_with_the_older_level_2_wording_is_the_2025_era():
    header = tuple(
        {"Level 2s or EOM": "Level 2s", "Add. Level 2s or EOM": "Add. Level 2s"}.get(name, name)
        for name in reports.CLUB_PERFORMANCE_2025
        if name != "CSP"
    )

    contract = reports.contract_of_header(ReportType.CLUB_PERFORMANCE, header)

    assert contract.era == "2025-07.."


@pytest.mark.parametrize("contract", ALL_CONTRACTS, ids=contract_id)
def test_a_header_with_one_column_renamed_still_names_its_own_era(contract):
    for index, name in enumerate(contract.header):
        if not name:
            continue
        header = (*contract.header[:index], f"{name} (renamed)", *contract.header[index + 1 :])
        assert reports.contract_of_header(contract.report, header) == contract
