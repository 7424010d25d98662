"""The site's files an import reads, as the site defines them (rservant/toast-stats,
`packages/shared-contracts/src/schemas/`): the per-district file and the snapshot metadata.

Only what an import relies on is modelled strictly; other fields the site's schemas name are
accepted as they are. A file that does not fit is refused with the fields that are wrong.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, StrictBool, StrictFloat, StrictInt, StrictStr
from pydantic import ValidationError as ModelError

# One cell of a raw row, keyed by the published column header (the site's `ScrapedRecord`).
Cell = StrictStr | StrictInt | StrictFloat | None
RawRow = dict[str, Cell]


class RefusedFile(Exception):
    """A site file that cannot be imported; the message says why (fields, values)."""


class _SiteModel(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class DistrictData(_SiteModel):
    """`data` of a per-district file: figures the site derived, and the three reports' raw
    rows, which are what an import reads."""

    districtId: StrictStr
    snapshotDate: StrictStr
    clubs: list[dict[str, Any]]
    divisions: list[dict[str, Any]]
    areas: list[dict[str, Any]]
    totals: dict[str, Any]
    clubPerformance: list[RawRow]
    divisionPerformance: list[RawRow]
    districtPerformance: list[RawRow]


class DistrictFile(_SiteModel):
    """`snapshots/{date}/district_{id}.json`: the per-district wrapper."""

    districtId: StrictStr
    districtName: StrictStr
    collectedAt: StrictStr
    status: Literal["success", "failed"]
    errorMessage: StrictStr | None = None
    data: DistrictData


class SnapshotMetadata(_SiteModel):
    """`snapshots/{date}/metadata.json`: which as-of date the date's data was collected at.
    Closing-period data sits under its month's last day with `collectionDate` the as-of."""

    snapshotId: StrictStr
    dataAsOfDate: StrictStr
    isClosingPeriodData: StrictBool | None = None
    collectionDate: StrictStr | None = None
    logicalDate: StrictStr | None = None

    def as_of(self, day: date) -> date:
        """The as-of date the data of `day` was collected at. Raises RefusedFile when the
        metadata names another date or an unreadable one."""
        if self.snapshotId != day.isoformat():
            raise RefusedFile(f"snapshotId is {self.snapshotId!r}, not {day.isoformat()}")
        if self.isClosingPeriodData:
            if self.collectionDate is None:
                raise RefusedFile("closing-period data without a collectionDate")
            return _iso_date("collectionDate", self.collectionDate)
        return _iso_date("dataAsOfDate", self.dataAsOfDate)


M = TypeVar("M", bound=_SiteModel)


def _iso_date(field: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise RefusedFile(f"{field} {text!r} is not a date as YYYY-MM-DD") from None


def parse_district_file(data: bytes) -> DistrictFile:
    """Read a per-district file. Raises RefusedFile naming what does not fit the site's
    schema (at most three fields)."""
    return _parse(DistrictFile, data)


def parse_metadata(data: bytes) -> SnapshotMetadata:
    """Read a snapshot's metadata. Raises RefusedFile as `parse_district_file`."""
    return _parse(SnapshotMetadata, data)


def _parse(model: type[M], data: bytes) -> M:
    try:
        return model.model_validate(json.loads(data))
    except (ValueError, UnicodeDecodeError) as exc:
        if isinstance(exc, ModelError):
            raise RefusedFile(_describe(exc)) from None
        raise RefusedFile(f"not JSON: {exc}") from None


def _describe(error: ModelError) -> str:
    problems = [
        f"{'.'.join(map(str, item['loc'])) or 'the file'}: {item['msg']}"
        for item in error.errors()[:3]
    ]
    more = error.error_count() - len(problems)
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")
