"""The base of every file model, and the one validation step every written file goes through.

The models read two kinds of files: ours, before they are written (`checked`), and the site's
own, which an import reads (district files and metadata). On the site's files a model accepts
what the site's schema accepts, `null` refused where zod says `.optional()` and unknown fields
ignored (zod strips them). On ours (the `OURS` validation context) it is stricter: no field the
site does not define, the canonical club id, the metadata's closing-period and status facts;
the site's older files may break those, and an import must still read them. Cross-field
rules of the files an import never reads (counts that add up, dates in order) always hold.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import Annotated, Any, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from backfill_project.errors import DomainError

IsoDate = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]
# The site's timestamps are JavaScript's `toISOString()`: milliseconds and a `Z`.
IsoTimestamp = Annotated[
    str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
]
ProgramYear = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{4}$")]
DistrictId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{1,3}$")]
OURS = {"ours": True}


def ours(info: ValidationInfo) -> bool:
    """True when the file validated is one we are about to write (see the module's doc)."""
    return bool(info.context and info.context.get("ours"))


def _canonical_if_ours(value: str, info: ValidationInfo) -> str:
    if ours(info) and not re.fullmatch(r"[1-9][0-9]*|0+", value):
        raise ValueError(f"club id {value!r} is not canonical (leading zeros stripped)")
    return value


# A club number in `clubs[].clubId` and as a key of the club index. The site writes the
# canonical form since its #1440 (`00000396` -> `396`; all zeros stay), older files the
# published one; ours is always canonical.
ClubId = Annotated[str, AfterValidator(_canonical_if_ours)]
Count = Annotated[int, Field(ge=0, strict=True)]
Number = int | float

T = TypeVar("T")


def _given(value: Any) -> Any:
    if value is None:
        raise ValueError("an optional field is left out, never null (zod's .optional())")
    return value


# A field zod declares `.optional()`: absent, or a value; `null` fails the site's schema. The
# default (absent) is not validated, an explicit None is refused.
Omittable = Annotated[T | None, AfterValidator(_given)]


def ascending(values: Sequence[str]) -> bool:
    """True when `values` run strictly upwards: the site's date lists are oldest first, each
    date once (its readers take the last as the newest)."""
    return all(a < b for a, b in itertools.pairwise(values))


class SiteFormatError(DomainError):
    """A file we built does not match the site's format: a bug of ours, never published."""

    code = "site_format"
    http_status = 500


class SiteModel(BaseModel):
    """A file (or part of one) of the site. Ours carries no field the site does not define (a
    typo in a builder fails here); the site's own files may (its schemas strip unknown keys
    rather than refuse them, and its newest pipeline adds some, e.g. a club's `address`), and
    an import reads them, ignoring what it does not know."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    @model_validator(mode="after")
    def _no_extra_in_ours(self, info: ValidationInfo) -> Self:
        if ours(info) and self.model_extra:
            raise ValueError(f"extra fields the site does not define: {sorted(self.model_extra)}")
        return self


def checked(model: type[SiteModel], payload: dict[str, Any], *, path: str) -> dict[str, Any]:
    """`payload` unchanged once it validates against `model`. Raises SiteFormatError naming
    the file and the first failing fields."""
    try:
        model.model_validate(payload, context=OURS)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
            for error in exc.errors()[:5]
        )
        raise SiteFormatError(f"{path} does not match {model.__name__}: {problems}") from exc
    return payload
