"""Reading the site's files an import relies on, against our models of them
(`website.format`): the per-district file and the snapshot metadata. A file that does not fit
is refused with the fields that are wrong, and nothing of it is used.
"""

from __future__ import annotations

from datetime import date
from typing import TypeVar

from pydantic import ValidationError

from website.format.base import SiteModel
from website.format.district import PerDistrictFile
from website.format.snapshot import SnapshotMetadataFile

M = TypeVar("M", bound=SiteModel)


class RefusedFile(Exception):
    """A site file that cannot be imported; the message says why (fields, values)."""


def parse_district_file(data: bytes) -> PerDistrictFile:
    """Read a per-district file. Raises RefusedFile naming what does not fit (at most three
    fields)."""
    return _parse(PerDistrictFile, data)


def metadata_as_of(data: bytes, day: date) -> date:
    """The as-of date the data of `day` was collected at, from the date's `metadata.json`:
    `collectionDate` for closing-period data (kept under its month's last day), else
    `dataAsOfDate`. Raises RefusedFile for metadata that does not fit, names another date, or
    says closing period without a collection date."""
    metadata = _parse(SnapshotMetadataFile, data)
    if metadata.snapshotId != day.isoformat():
        raise RefusedFile(f"snapshotId is {metadata.snapshotId!r}, not {day.isoformat()}")
    if metadata.isClosingPeriodData:
        if metadata.collectionDate is None:
            raise RefusedFile("closing-period data without a collectionDate")
        return _iso_date("collectionDate", metadata.collectionDate)
    return _iso_date("dataAsOfDate", metadata.dataAsOfDate)


def _iso_date(field: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise RefusedFile(f"{field} {text!r} is not a date") from None


def _parse(model: type[M], data: bytes) -> M:
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(map(str, item['loc'])) or 'the file'}: {item['msg']}"
            for item in exc.errors()[:3]
        ]
        more = exc.error_count() - len(problems)
        raise RefusedFile(
            "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")
        ) from None
