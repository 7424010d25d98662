"""The contract checks normalization runs on every export, whoever built it (DOMAIN.md
section 5): required columns published, every published cell inside its column's domain, and
the warning for columns outside the contract."""

from __future__ import annotations

from collections.abc import Iterable

from .csv import ParsedExport
from .domains import cells_getter, contract_columns, row_check
from .errors import ValidationFailed
from .reports import canonical_field


def check_contract(export: ParsedExport) -> None:
    """Refuse an export that breaks its era's contract, whoever built it.

    `parse_export` already refuses such files with line numbers; this guards exports built in
    code, so that no figure is ever read from a missing column (a KeyError) or a bad cell. The
    published fields are checked in header order, a row at a time (`domains.RowCheck`).
    """
    contract = export.contract
    fields = tuple(dict.fromkeys(field for field in map(canonical_field, export.header) if field))
    missing = contract.missing(set(fields))
    if missing:
        raise ValidationFailed(f"{contract.label} lacks required column(s): {', '.join(missing)}")
    check = row_check(contract_columns(contract, fields))
    cells_of = cells_getter(fields)
    for row in export.rows:
        try:
            cells = cells_of(row)
        except KeyError:
            # A row without one of the published fields: a required one refuses the export,
            # an optional one is checked as the empty cell it reads as.
            absent = [field for field in fields if field not in row]
            for field in absent:
                if field in contract.required:
                    raise ValidationFailed(
                        f"{export.report} row of {_who(row)} has no {field}"
                    ) from None
            cells = tuple(row.get(field, "") for field in fields)
        outside = check.first_outside(cells)
        if outside is not None:
            raise ValidationFailed(
                f"{export.report} row of {_who(row)}: "
                f"{contract.published_name(fields[outside])} is {cells[outside]!r}, "
                f"expected {check.columns[outside][0]}"
            )


def _who(row: dict[str, str]) -> str:
    return row.get("club_number") or row.get("district") or "?"


def unknown_columns_warnings(exports: Iterable[ParsedExport]) -> tuple[str, ...]:
    return tuple(
        f"{export.report} has column(s) outside its contract, ignored: "
        + ", ".join(export.unknown_columns)
        for export in exports
        if export.unknown_columns
    )
