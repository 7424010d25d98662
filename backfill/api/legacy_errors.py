"""Errors of the legacy routes in the old backend's shape, which the old front end reads
(`error.response.data.error.message`): `{"error": {"code", "message", "details"}}` with the
status codes of the job API."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError, Throttled

# The error codes of the legacy routes, by status; a 409 keeps its own code in upper case
# (`JOB_STATE_CONFLICT`, `IDEMPOTENCY_KEY_REUSED`), other statuses fall back to their name.
LEGACY_ERROR_CODES = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
}
MALFORMED_REQUEST = "MALFORMED_REQUEST"
LEGACY_ERROR_CODE_CHOICES = [
    *LEGACY_ERROR_CODES.values(),
    MALFORMED_REQUEST,
    "JOB_STATE_CONFLICT",
    "IDEMPOTENCY_KEY_REUSED",
]


class LegacyErrorBodySerializer(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=LEGACY_ERROR_CODE_CHOICES, help_text="Upper-snake, one per kind of error."
    )
    message = serializers.CharField(
        help_text='One sentence for people; a 400 names the first bad field: "startDate: ...".'
    )
    details = serializers.DictField(
        help_text="400: each bad field with its messages. 409: `jobId`, `action`, `status` "
        "(the job's state) or, for a reused Idempotency-Key, `jobId`. 429: `retryAfterSeconds`."
        " Otherwise empty."
    )


class LegacyErrorSerializer(serializers.Serializer):
    """The old backend's error body, read by the old front end as `error.message`."""

    error = LegacyErrorBodySerializer()


def legacy_error(exc: Exception, status_code: int, data: Any) -> dict[str, Any]:
    """The old backend's `{"error": {"code", "message", "details"}}` of an error the job API
    answers with `data` (`{"field": [...]}` or `{"detail": ..., ...}`)."""
    data = dict(data) if isinstance(data, Mapping) else {"detail": data}
    details: dict[str, Any] = {}
    if isinstance(exc, ParseError):
        code, message = MALFORMED_REQUEST, str(data.get("detail", ""))
    elif status_code == status.HTTP_400_BAD_REQUEST:
        code, details = LEGACY_ERROR_CODES[400], data
        message = _first_message(data)
    else:
        message = str(data.pop("detail", "") or HTTPStatus(status_code).phrase)
        own = data.pop("code", None)
        default = LEGACY_ERROR_CODES.get(status_code, HTTPStatus(status_code).name)
        code = str(own).upper() if own and status_code == status.HTTP_409_CONFLICT else default
        details = data if status_code < 500 else {}
        if isinstance(exc, Throttled) and exc.wait is not None:
            details["retryAfterSeconds"] = int(exc.wait)
    return {"error": {"code": code, "message": message, "details": details}}


def _first_message(errors: Any, path: str = "") -> str:
    """ "startDate: Enter a valid date." for the first bad field (nested: `targetDistricts[0]`)."""
    if isinstance(errors, Mapping) and errors:
        key, found = next(iter(errors.items()))
        if key in ("non_field_errors", "detail"):
            name = path
        elif path:
            name = f"{path}[{key}]" if str(key).isdigit() else f"{path}.{key}"
        else:
            name = str(key)
        return _first_message(found, name)
    if isinstance(errors, list | tuple) and errors:
        return _first_message(errors[0], path)
    text = str(errors) if errors not in (None, "", [], {}) else "Invalid request."
    return f"{path}: {text}" if path else text


def legacy_error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    descriptions = {
        400: 'A bad field: `details` has each bad field with its messages ({"startDate": '
        '["..."]}), `message` names the first.',
        401: "No or bad credentials.",
        403: "Not staff, without the permission, or CSRF failed.",
        404: "No such backfill (for this district).",
        409: "The job's state forbids it, or the Idempotency-Key was used for another body.",
        413: "Body over 2.5 MB.",
        429: "Throttled.",
    }
    return {
        code: OpenApiResponse(LegacyErrorSerializer, description=descriptions[code])
        for code in codes
    }


READ_ERRORS = legacy_error_responses(401, 403, 404)
WRITE_ERRORS = legacy_error_responses(401, 403, 413, 429)
