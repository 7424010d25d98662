"""What the dashboard's answers mean when they are not an export (DOMAIN.md sections 4 and 8):
HTTP statuses, redirects and transport failures, each as the `DashboardError` the client
raises. The site's one expected redirect is to its error page, for data it does not have."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from .errors import DashboardError, DataUnavailable, ErrorType, ValidationFailed

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def raise_for_status(response: requests.Response, url: str, retry_after: float | None) -> None:
    """Raise the DashboardError an answer other than 200 stands for: the error page's redirect
    is DataUnavailable, any other redirect and 5xx fail retryable, 429 is the rate limit."""
    status = response.status_code
    if status in REDIRECT_STATUSES:
        location = response.headers.get("Location", "")
        if _is_error_page(url, location):
            raise DataUnavailable(
                f"HTTP {status} redirect to {location} (not followed)",
                status_code=status,
                url=url,
            )
        # Not the site's answer for data it does not have: a move, a maintenance page, another
        # host. Never followed; the unit fails (retryable) naming where it was sent.
        raise DashboardError(
            ErrorType.FETCH_FAILED,
            f"HTTP {status} redirect to {_shown(location) or 'nowhere'}, which the collector "
            "does not expect (not followed)",
            retryable=True,
            status_code=status,
            url=url,
        )
    if status == 429:
        raise DashboardError(
            ErrorType.RATE_LIMIT_ERROR,
            f"HTTP 429 Too Many Requests (Retry-After {retry_after})",
            status_code=status,
            url=url,
            retry_after=retry_after,
        )
    if status >= 500:
        raise DashboardError(
            ErrorType.FETCH_FAILED,
            f"HTTP {status} from the dashboard",
            retryable=True,
            status_code=status,
            url=url,
            retry_after=retry_after,
        )
    raise DashboardError(
        ErrorType.FETCH_FAILED,
        f"HTTP {status} from the dashboard",
        retryable=False,
        status_code=status,
        url=url,
    )


# The page an unpublished program year redirects to (DOMAIN.md section 4), on the same host.
ERROR_PAGE_PATH = "/error.aspx"


def _is_error_page(url: str, location: str) -> bool:
    """True when a redirect's `location` is the dashboard's own error page: the one redirect
    the site answers for data it does not have."""
    if not location:
        return False
    target, origin = urlsplit(urljoin(url, location)), urlsplit(url)
    return (target.scheme, target.netloc.lower()) == (
        origin.scheme,
        origin.netloc.lower(),
    ) and target.path.lower() == ERROR_PAGE_PATH


def _shown(location: str) -> str:
    """A redirect target as a message shows it: printable, at most 200 characters."""
    text = "".join(c if c.isprintable() else "?" for c in location)
    return text if len(text) <= 200 else f"{text[:200]}..."


def transport_error(exc: requests.RequestException, url: str) -> DashboardError:
    """Classify a requests failure: timeouts, connection problems and bodies cut short are
    retryable; a malformed URL or the like is not."""
    if isinstance(exc, requests.Timeout) or _is_read_timeout(exc):
        return DashboardError(ErrorType.TIMEOUT_ERROR, f"timed out: {exc}", url=url)
    if isinstance(
        exc,
        requests.ConnectionError
        | requests.exceptions.ChunkedEncodingError
        | requests.exceptions.ContentDecodingError,
    ):
        return DashboardError(ErrorType.NETWORK_ERROR, f"network error: {exc}", url=url)
    return DashboardError(
        ErrorType.FETCH_FAILED, f"request failed: {exc}", retryable=False, url=url
    )


def _is_read_timeout(exc: requests.RequestException) -> bool:
    # requests reports a read timeout while streaming the body as a ConnectionError.
    return any(isinstance(arg, urllib3.exceptions.ReadTimeoutError) for arg in exc.args)


def too_large(url: str, max_bytes: int, status: int) -> ValidationFailed:
    """The refusal of a body past the size cap: no export is that large."""
    return ValidationFailed(
        f"response larger than {max_bytes} bytes: not a dashboard export",
        url=url,
        status_code=status,
    )
