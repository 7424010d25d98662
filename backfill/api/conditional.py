"""Conditional GET (ETag / If-None-Match): an answer the client has already read is a 304
without a body. Job status routes digest their job's version (`selectors.jobs.JobVersion`), so
that a 304 builds no body; other routes digest the body."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
)
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

# Values that follow the clock alone (countdowns and estimates recomputed at each request): left
# out of the ETag so that an unchanged job answers 304; every other value of the body is in it.
CLOCK_FIELDS = (
    ("progress", "etaSeconds"),
    ("progress", "estimatedCompletionAt"),
    ("performanceStatus", "rateLimiter", "nextResetMs"),
    ("performanceStatus", "rateLimiter", "nextResetAt"),
    ("performanceStatus", "rateLimiter", "cooldownRemainingMs"),
    ("performanceStatus", "rateLimiter", "backoffMs"),
    ("performanceStatus", "circuitBreaker", "probeInMs"),
)


def _without(body: Any, paths: Iterable[tuple[str, ...]]) -> Any:
    body = dict(body)
    for path in paths:
        node = body
        for key in path[:-1]:
            if not isinstance(node.get(key), dict):
                break
            node[key] = node = dict(node[key])
        else:
            node.pop(path[-1], None)
    return body


def body_etag(body: Any, *, ignore: Iterable[tuple[str, ...]] = ()) -> str:
    """A weak ETag of a JSON body: a digest of its canonical JSON, without the `ignore` paths."""
    stable = _without(body, ignore) if ignore else body
    # Bodies are built in a fixed key order, so no sorting is needed to compare them.
    text = json.dumps(stable, separators=(",", ":"), default=str)
    return f'W/"{hashlib.blake2b(text.encode(), digest_size=16).hexdigest()}"'


def _matches(header: str, etag: str) -> bool:
    """If-None-Match uses the weak comparison (RFC 9110 13.1.2)."""
    if header.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in header.split(","))


def versioned(request: Request, etag: str, body: Callable[[], Any]) -> Response:
    """200 with `body()` and `etag`, or 304 without building the body when the client's
    If-None-Match names `etag` (what it shows did not change since the client last read it)."""
    # `no-cache`: a browser keeps the answer but revalidates it (If-None-Match) at every poll.
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    header = request.headers.get("If-None-Match")
    if header and _matches(header, etag):
        return Response(status=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(body(), headers=headers)


def conditional(
    request: Request, body: Any, *, ignore: Iterable[tuple[str, ...]] = CLOCK_FIELDS
) -> Response:
    """`versioned` for a body already built: its ETag is a digest of the body."""
    return versioned(request, body_etag(body, ignore=ignore), lambda: body)


IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="The `ETag` of an earlier answer: 304 with no body while nothing it shows has "
    "changed (estimates and countdowns that follow the clock alone do not count).",
)
ETAG = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200, 304],
    description='A weak validator of the answer (`W/"..."`): send it back in If-None-Match.',
)
NOT_MODIFIED = OpenApiResponse(
    None, description="Not modified: the answer would be the one the If-None-Match ETag names."
)
