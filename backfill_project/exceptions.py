"""One place where domain errors become HTTP errors (STYLE.md).

- Django `ValidationError` (field -> messages) -> 400 with the same shape DRF gives its own
  validation errors: `{"fieldName": ["why", ...]}`.
- A domain error of any app (`errors.DomainError`) -> its `http_status` with its `body()`:
  `JobNotFound` 404 `{"detail"}`; `AnalyticsNotFound` 404 `{"detail", "code":
  "analytics_not_found", ...}` with what exists nearby; `JobStateConflict` 409 `{"detail",
  "code": "job_state_conflict", "jobId", "action", "status"}`; `IdempotencyConflict` 409
  `{"detail", "code": "idempotency_key_reused", "jobId"}`.
- A body over DATA_UPLOAD_MAX_MEMORY_SIZE (`RequestDataTooBig`) -> 413 `{"detail", "code":
  "request_too_large"}`.
- Every 4xx body echoes at most 64 characters of any value the client sent (`echo.capped`), for
  every field of every endpoint.
- Anything else that is not an `APIException` is a bug: logged with its traceback, answered 500
  with a generic body; no stack trace or internal detail reaches the client.
"""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .echo import capped
from .errors import DomainError

log = logging.getLogger(__name__)


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


def api_exception_handler(exc, context):
    response = _handle(exc, context)
    if 400 <= response.status_code < 500:
        response.data = capped(response.data)
    return response


def _handle(exc, context):
    if isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge(
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes."
        )
    elif isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, DomainError):
        return Response(exc.body(), status=exc.http_status)
    response = exception_handler(exc, context)
    if response is None:
        view = context.get("view")
        log.error("unhandled error in %s", type(view).__name__, exc_info=exc)
        return Response(
            {"detail": "Internal error; it has been logged.", "code": "server_error"},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    return response
