"""One encoding for every file, and the site's timestamps derived from our data (never the
clock), so that publishing the same store twice gives the same bytes."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from website.format.base import SiteModel, checked


@dataclass(frozen=True)
class SiteFile:
    """One file of the site: its path under the destination and its bytes."""

    path: str
    data: bytes

    @functools.cached_property
    def sha256(self) -> str:  # asked for twice by a publish: once computed
        return hashlib.sha256(self.data).hexdigest()


def stamp(day: date) -> str:
    """The site's timestamp (`toISOString()` form) of a day: midnight UTC of our data's date.
    Used wherever the site wants a creation or update time, so no publish changes a byte
    unless the data changed."""
    return f"{day.isoformat()}T00:00:00.000Z"


def encoded(payload: dict[str, Any]) -> bytes:
    """The one encoding of the tree: keys in the builders' order, compact, UTF-8."""
    text = json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.encode("utf-8")


def site_file(path: str, model: type[SiteModel], payload: dict[str, Any]) -> SiteFile:
    """The file at `path`, once `payload` validates against `model` (SiteFormatError else)."""
    checked(model, payload, path=path)
    return SiteFile(path=path, data=encoded(payload))
