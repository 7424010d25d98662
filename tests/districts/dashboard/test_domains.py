"""The compiled row checks (districts/dashboard/domains.py) decide exactly as `cell_in_domain`,
the definition of each column kind's domain, whatever the cells hold."""

from hypothesis import given, settings
from hypothesis import strategies as st

from districts.dashboard import domains
from districts.dashboard.domains import RowCheck, cell_in_domain, row_check
from districts.dashboard.reports import CLUB_STATUSES, ColumnKind

COLUMNS = st.tuples(st.sampled_from(list(ColumnKind)), st.booleans())
# Text near every domain's edges: digits of other scripts, separators, signs, blanks (Unicode
# ones too), NUL (the row check's own separator), letters whose case maps oddly.
ALPHABET = "0123456789,.+-%/ADSPMNYadspmnyx\u017f\u0130\u0663 \t\n\x00\u00a0\u2003"
# Cells on every domain's edges, each tried in every column on its own.
EDGES = (
    *("", " ", "0", "7", "10", "11", "010", "99", "-1", "+3", "1,234", ",5", ",", " 7 ", "1.5"),
    *("٣", "N/A", "n/a", "%", "5%", "-8.29%", "+.5", "5.", "8.2.9%", "0D", "0d", "0A", "a"),
    *("AB", "01", "1", "123", "00000396", "123456789", "D", "p", " P ", "DS", "Y", "n", "Yes"),
    *CLUB_STATUSES,
    *(status.upper() for status in CLUB_STATUSES),
    *(status.lower() for status in CLUB_STATUSES),
    *("Suspended", "Su\u017fpended", "\u0130neligible", "a\x00b", "<b>A</b>"),
)
ALL_COLUMNS = [(kind, required) for kind in ColumnKind for required in (True, False)]
CELLS = st.one_of(st.sampled_from(EDGES), st.text(alphabet=ALPHABET, max_size=12))


def reference(columns, cells):
    for index, (kind, required) in enumerate(columns):
        if not cell_in_domain(kind, cells[index], required=required):
            return index
    return None


def test_every_edge_cell_in_every_column_is_decided_as_the_definition_decides():
    for column in ALL_COLUMNS:
        for cell in EDGES:
            expected = None if cell_in_domain(column[0], cell, required=column[1]) else 0
            assert RowCheck((column,)).first_outside((cell,)) == expected, (column, cell)


@settings(max_examples=1000, deadline=None)
@given(data=st.data(), columns=st.lists(COLUMNS, min_size=1, max_size=4))
def test_the_row_check_names_the_cell_the_definition_refuses_first(data, columns):
    columns = tuple(columns)
    cells = tuple(data.draw(CELLS) for _ in columns)

    assert RowCheck(columns).first_outside(cells) == reference(columns, cells)


def test_usual_spellings_pass_without_the_cell_by_cell_check(monkeypatch):
    check = RowCheck(
        (
            (ColumnKind.CLUB_NUMBER, True),
            (ColumnKind.COUNT, True),
            (ColumnKind.COUNT, False),
            (ColumnKind.PERCENT, True),
            (ColumnKind.CLUB_STATUS, True),
            (ColumnKind.TEXT, False),
        )
    )

    monkeypatch.setattr(domains, "cell_in_domain", lambda *args, **kwargs: 1 / 0)

    assert check.first_outside(("00000396", "1,234", "", "-8.29%", "Active", "a, b")) is None
    assert check.first_outside(("396", "7", "12", "N/A", "low", "")) is None


def test_an_unusual_spelling_is_decided_by_the_definition():
    check = RowCheck(((ColumnKind.COUNT, True), (ColumnKind.LEVEL, False)))

    assert check.first_outside((" 1,234 ", " p ")) is None
    assert check.first_outside(("", "P")) == 0
    assert check.first_outside(("5", "Presidents")) == 1


def test_a_layout_is_compiled_once():
    columns = ((ColumnKind.COUNT, True), (ColumnKind.AREA, False))

    assert row_check(columns) is row_check(columns)
