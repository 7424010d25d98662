"""`website.tree.raw_rows`: an archived export's rows keyed by the headers as published."""

from __future__ import annotations

from website.tree.raw_rows import rows_of_csv


def test_rows_keep_every_cell_as_published_text_and_drop_the_footer():
    data = (
        b'\r\n"District","Division","Club Number","Club Name"\r\n'
        b'"42","A","00000396","Tom\'s & Co"\r\n'
        b'"42","0D","00001234",""\r\n'
        b"Month of Mar, As of 03/10/2025\r\n"
    )
    assert rows_of_csv(data) == [
        {"District": "42", "Division": "A", "Club Number": "00000396", "Club Name": "Tom's & Co"},
        {"District": "42", "Division": "0D", "Club Number": "00001234", "Club Name": ""},
    ]


def test_an_empty_header_cell_names_no_field_and_a_short_row_gets_none():
    data = b'"District","Level 1s",""\r\n"42","3",""\r\n"42"\r\nMonth of Mar, As of 03/10/2025\r\n'
    assert rows_of_csv(data) == [
        {"District": "42", "Level 1s": "3"},
        {"District": "42", "Level 1s": None},
    ]


def test_a_header_only_export_has_no_rows():
    assert rows_of_csv(b'"District","Division"\r\nMonth of Mar, As of 03/10/2025\r\n') == []
    assert rows_of_csv(b"") == []
