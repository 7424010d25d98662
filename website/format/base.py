"""The base of every file model, and the one validation step every written file goes through."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from backfill_project.errors import DomainError

IsoDate = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]
# The site's timestamps are JavaScript's `toISOString()`: milliseconds and a `Z`.
IsoTimestamp = Annotated[
    str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
]
ProgramYear = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{4}$")]
DistrictId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{1,3}$")]
Count = Annotated[int, Field(ge=0, strict=True)]
Number = int | float


class SiteFormatError(DomainError):
    """A file we built does not match the site's format: a bug of ours, never published."""

    code = "site_format"
    http_status = 500


class SiteModel(BaseModel):
    """A file (or part of one) of the site: no field the site does not define."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def checked(model: type[SiteModel], payload: dict[str, Any], *, path: str) -> dict[str, Any]:
    """`payload` unchanged once it validates against `model`. Raises SiteFormatError naming
    the file and the first failing fields."""
    try:
        model.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
            for error in exc.errors()[:5]
        )
        raise SiteFormatError(f"{path} does not match {model.__name__}: {problems}") from exc
    return payload
