"""The one error type of the dashboard layer.

Every failure to obtain usable data from the dashboard surfaces as a `DashboardError` carrying an
error type of DOMAIN.md section 8 and whether retrying can help.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorType(StrEnum):
    FETCH_FAILED = "fetch_failed"
    VALIDATION_FAILED = "validation_failed"
    PROCESSING_FAILED = "processing_failed"
    SCOPE_VIOLATION = "scope_violation"
    NETWORK_ERROR = "network_error"
    TIMEOUT_ERROR = "timeout_error"
    RATE_LIMIT_ERROR = "rate_limit_error"
    DATA_UNAVAILABLE = "data_unavailable"
    SNAPSHOT_CREATION_FAILED = "snapshot_creation_failed"


RETRYABLE_TYPES = frozenset(
    {ErrorType.NETWORK_ERROR, ErrorType.TIMEOUT_ERROR, ErrorType.RATE_LIMIT_ERROR}
)


class DashboardError(Exception):
    """A failure to get usable data from the dashboard.

    `retryable` defaults from the error type (network, timeout, rate limit); a 5xx is a
    `fetch_failed` raised with `retryable=True`.
    """

    def __init__(
        self,
        error_type: ErrorType | str,
        message: str,
        *,
        retryable: bool | None = None,
        status_code: int | None = None,
        url: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.error_type = ErrorType(error_type)
        self.message = message
        self.retryable = self.error_type in RETRYABLE_TYPES if retryable is None else retryable
        self.status_code = status_code
        self.url = url
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.error_type}: {self.message}"


class ValidationFailed(DashboardError):
    """The bytes are not an acceptable dashboard export (never retried)."""

    def __init__(self, message: str, **kwargs) -> None:
        super().__init__(ErrorType.VALIDATION_FAILED, message, retryable=False, **kwargs)


class DataUnavailable(DashboardError):
    """The site answered, but has no data for what was asked (never retried)."""

    def __init__(self, message: str, **kwargs) -> None:
        super().__init__(ErrorType.DATA_UNAVAILABLE, message, retryable=False, **kwargs)
