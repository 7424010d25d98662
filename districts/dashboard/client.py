"""The HTTP client of the dashboard: one pooled session, explicit timeouts, a size cap, and one
retry layer (tenacity) with exponential backoff and full jitter.

Every failure leaves as a `DashboardError` with an error type of DOMAIN.md section 8 and a
retryable flag. Hooks let the shared limits plug in without this module knowing them:
`before_request(url)` runs before every attempt (the global rate limiter and the circuit
breaker; it may block, or raise `DashboardError`), `after_response(url, status, retry_after)`
after every attempt that was sent (status None when no answer came back).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Protocol

import requests
import urllib3
from django.conf import settings
from requests.adapters import HTTPAdapter
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from backfill_project import counters

from .errors import DashboardError, ErrorType
from .responses import REDIRECT_STATUSES, raise_for_status, too_large, transport_error

log = logging.getLogger(__name__)

BeforeRequest = Callable[[str], None]
AfterResponse = Callable[[str, int | None, float | None], None]

# A Retry-After longer than this is not slept through in a worker: the request fails retryable
# (naming the value) and the shared cooldown, which `after_response` gets in full, keeps every
# worker away meanwhile. The default is settings.BACKFILL_MAX_RETRY_AFTER_SECONDS.
DEFAULT_BACKOFF_BASE_S = 1.0
DEFAULT_BACKOFF_MAX_S = 30.0
# The read timeout bounds the gap between bytes only; a slow drip is bounded by this, checked
# on every read of the body (each read waits at most until the deadline).
DEFAULT_DOWNLOAD_DEADLINE_S = 120.0
CHUNK_BYTES = 8 * 1024
DRAIN_LIMIT_BYTES = 64 * 1024


class ResponseCacheLike(Protocol):
    def get(self, url: str) -> bytes | None: ...

    def set(self, url: str, data: bytes) -> object: ...


def parse_retry_after(
    value: str | None, *, cap: float | None = None, now: datetime | None = None
) -> float | None:
    """Seconds to wait from a `Retry-After` header (delay-seconds or an HTTP-date), at least 0
    and at most `cap` (None: the value as given, in full); None when the header is absent or
    unreadable. Never raises."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if cap is None:
        cap = float("inf")
    # str.isdigit() is true for digits float() refuses ("¹"): delay-seconds are ASCII digits.
    if text.isascii() and text.isdigit():
        return min(float(text), cap)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = (moment - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), cap)


class DashboardClient:
    """Downloads dashboard exports; safe to share between threads.

    `cache` (an object with `get(url) -> bytes | None` and `set(url, data)`) is not used by
    `get` itself: callers store a body only after accepting it (see `collect.fetch_export`),
    through `cached(url)` and `remember(url, data)`.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        before_request: BeforeRequest | None = None,
        after_response: AfterResponse | None = None,
        cache: ResponseCacheLike | None = None,
        max_attempts: int | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        max_bytes: int | None = None,
        download_deadline: float = DEFAULT_DOWNLOAD_DEADLINE_S,
        backoff_base: float = DEFAULT_BACKOFF_BASE_S,
        backoff_max: float = DEFAULT_BACKOFF_MAX_S,
        max_retry_after: float | None = None,
        user_agent: str | None = None,
        pool_size: int = 16,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = (base_url or settings.DASHBOARD_BASE_URL).rstrip("/")
        self.before_request = before_request
        self.after_response = after_response
        self.cache = cache
        self.max_attempts = max(1, max_attempts or settings.DASHBOARD_MAX_ATTEMPTS)
        self.timeout = (
            connect_timeout if connect_timeout is not None else settings.DASHBOARD_CONNECT_TIMEOUT,
            read_timeout if read_timeout is not None else settings.DASHBOARD_READ_TIMEOUT,
        )
        self.max_bytes = max_bytes or settings.DASHBOARD_MAX_RESPONSE_BYTES
        self.download_deadline = download_deadline
        self.max_retry_after = (
            max_retry_after
            if max_retry_after is not None
            else settings.BACKFILL_MAX_RETRY_AFTER_SECONDS
        )
        self._backoff = wait_random_exponential(multiplier=backoff_base, max=backoff_max)
        self._sleep = sleep
        self._lock = threading.Lock()
        self._counts = {"requests_made": 0, "bytes_received": 0, "retries": 0, "cache_hits": 0}
        self._root_years: set[str] = set()

        self.session = requests.Session()
        # No proxies or .netrc from the environment; one retry layer only (tenacity, below).
        self.session.trust_env = False
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update(
            {
                "User-Agent": user_agent or settings.DASHBOARD_USER_AGENT,
                "Accept": "text/csv, */*;q=0.1",
            }
        )

    # --- counters ---------------------------------------------------------------------------
    @property
    def requests_made(self) -> int:
        """Requests sent (every attempt that passed `before_request`)."""
        return self._counts["requests_made"]

    @property
    def bytes_received(self) -> int:
        """Body bytes read from the dashboard (cache hits not included)."""
        return self._counts["bytes_received"]

    @property
    def retries(self) -> int:
        """Attempts made after a failed one."""
        return self._counts["retries"]

    @property
    def cache_hits(self) -> int:
        return self._counts["cache_hits"]

    def _count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] += amount

    # --- cache ------------------------------------------------------------------------------
    def cached(self, url: str) -> bytes | None:
        """The cached body of `url`, or None (no cache, a miss, or the cache unreachable: a
        cache is an optimisation, so its failure costs a download, not the unit)."""
        if self.cache is None:
            return None
        try:
            data = self.cache.get(url)
        except DashboardError as exc:
            log.warning("response cache unavailable, downloading %s: %s", url, exc)
            return None
        if data is not None:
            self._count("cache_hits")
        return data

    def remember(self, url: str, data: bytes) -> None:
        """Cache an accepted body of `url` (no-op without a cache or when it is unreachable)."""
        if self.cache is None:
            return
        try:
            self.cache.set(url, data)
        except DashboardError as exc:
            log.warning("response cache unavailable, %s not cached: %s", url, exc)

    # --- paths ------------------------------------------------------------------------------
    def root_serves(self, program_year: str) -> bool:
        """True once the root path served `program_year` (see `note_root_serves`)."""
        with self._lock:
            return program_year in self._root_years

    def note_root_serves(self, program_year: str) -> None:
        """Remember that the archive path failed for `program_year` and the root served it, so
        later requests for that year skip the archive path's certain failure."""
        with self._lock:
            self._root_years.add(program_year)

    # --- requests ---------------------------------------------------------------------------
    def get(
        self,
        url: str,
        *,
        max_attempts: int | None = None,
        give_up: Callable[[DashboardError], bool] | None = None,
    ) -> bytes:
        """The body of a 200 answer to `GET url` (not followed through redirects).

        Retries network errors, timeouts, 5xx and 429 up to `max_attempts` (default: the
        client's), waiting exponential backoff with full jitter, or the `Retry-After` of the
        answer in full when longer; a `Retry-After` beyond `max_retry_after` is not waited
        through: the request fails at once, retryable, with a message naming the value (the
        `after_response` hook got the full value, so a shared cooldown holds meanwhile);
        `give_up(error)` True stops retrying at once. Raises DashboardError: `network_error`,
        `timeout_error`, `rate_limit_error`
        or `fetch_failed` (5xx) with retryable=True, also when the attempts are exhausted;
        `fetch_failed` non-retryable for other 4xx; DataUnavailable for a redirect to the
        site's error page (an unpublished program year answers 302 to it) and `fetch_failed`
        naming the target for any other redirect (retryable, but not retried here: the unit's
        next attempt asks again); `timeout_error` when the whole download takes longer than
        `download_deadline` (checked on every read); ValidationFailed for a body over
        `max_bytes`. A DashboardError raised by `before_request` is retried when it is
        retryable; any other exception from a hook propagates unchanged.
        """
        attempts = max(1, max_attempts or self.max_attempts)

        def should_retry(exc: BaseException) -> bool:
            return (
                isinstance(exc, DashboardError)
                and exc.retryable
                and exc.status_code not in REDIRECT_STATUSES
                and not self._too_long(exc)
                and not (give_up is not None and give_up(exc))
            )

        retrying = Retrying(
            stop=stop_after_attempt(attempts),
            wait=self._wait,
            retry=retry_if_exception(should_retry),
            before_sleep=self._before_sleep,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(self._attempt, url)
        except DashboardError as exc:
            if exc.retryable and self._too_long(exc):
                raise DashboardError(
                    exc.error_type,
                    f"{exc.message}: Retry-After {exc.retry_after:g} s is longer than a worker "
                    f"waits ({self.max_retry_after:g} s, BACKFILL_MAX_RETRY_AFTER_SECONDS); "
                    "the shared cooldown holds every worker until it ends",
                    retryable=True,
                    status_code=exc.status_code,
                    url=url,
                    retry_after=exc.retry_after,
                ) from exc
            if exc.retryable and should_retry(exc) and attempts > 1:
                raise DashboardError(
                    exc.error_type,
                    f"{exc.message} (gave up after {attempts} attempts)",
                    retryable=True,
                    status_code=exc.status_code,
                    url=url,
                    retry_after=exc.retry_after,
                ) from exc
            raise

    def _too_long(self, exc: DashboardError) -> bool:
        return bool(exc.retry_after) and exc.retry_after > self.max_retry_after

    def _wait(self, state: RetryCallState) -> float:
        backoff = self._backoff(state)
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after:
            # In full: a longer one never gets here (`_too_long` stops retrying first).
            return max(backoff, retry_after)
        return backoff

    def _before_sleep(self, state: RetryCallState) -> None:
        self._count("retries")
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.info(
            "dashboard attempt %s failed (%s), retrying in %.1f s", state.attempt_number, exc, wait
        )

    def _attempt(self, url: str) -> bytes:
        if self.before_request is not None:
            self.before_request(url)
        self._count("requests_made")
        deadline = time.monotonic() + self.download_deadline
        status: int | None = None
        retry_after: float | None = None
        error_type: str | None = None
        try:
            try:
                response = self.session.get(
                    url, timeout=self.timeout, stream=True, allow_redirects=False
                )
            except requests.RequestException as exc:
                raise transport_error(exc, url) from exc
            with response:
                status = response.status_code
                # In full: the shared cooldown must hold for as long as the site asked.
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if status != 200:
                    _drain(response)
                    raise_for_status(response, url, retry_after)
                try:
                    return self._read_body(response, url, deadline)
                except DashboardError as exc:
                    if exc.error_type in (ErrorType.NETWORK_ERROR, ErrorType.TIMEOUT_ERROR):
                        # An answer that broke off mid-body counts as no answer for the
                        # breaker; an oversized one did answer.
                        status = None
                    raise
        except DashboardError as exc:
            error_type = exc.error_type
            raise
        finally:
            if self.after_response is not None:
                self.after_response(url, status, retry_after)
            # Shared by every process (Redis): /metrics and the Operations page read it.
            counters.increment(
                counters.DASHBOARD_REQUESTS,
                counters.request_outcome(status, error_type),
                per_minute=True,
            )

    def _read_body(self, response: requests.Response, url: str, deadline: float) -> bytes:
        """The body, read in small pieces, each read waiting at most until `deadline` (a
        `time.monotonic()` value): a body that drips in never holds the caller past it."""
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise too_large(url, self.max_bytes, response.status_code)
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._past_deadline(url)
                _limit_next_read(response, min(remaining, self.timeout[1]))
                try:
                    chunk = response.raw.read1(CHUNK_BYTES, decode_content=True)
                except urllib3.exceptions.ReadTimeoutError:
                    if remaining <= self.timeout[1]:
                        raise self._past_deadline(url) from None
                    raise
                if not chunk:
                    break
                size += len(chunk)
                self._count("bytes_received", len(chunk))
                if size > self.max_bytes:
                    raise too_large(url, self.max_bytes, response.status_code)
                chunks.append(chunk)
        except requests.RequestException as exc:
            raise transport_error(exc, url) from exc
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise DashboardError(ErrorType.TIMEOUT_ERROR, f"timed out: {exc}", url=url) from exc
        except urllib3.exceptions.HTTPError as exc:
            raise DashboardError(ErrorType.NETWORK_ERROR, f"network error: {exc}", url=url) from exc
        except OSError as exc:
            raise DashboardError(ErrorType.NETWORK_ERROR, f"network error: {exc}", url=url) from exc
        return b"".join(chunks)

    def _past_deadline(self, url: str) -> DashboardError:
        return DashboardError(
            ErrorType.TIMEOUT_ERROR,
            f"download of {url} took longer than {self.download_deadline:g} s",
            url=url,
        )

    # --- lifecycle --------------------------------------------------------------------------
    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()

    def __enter__(self) -> DashboardClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _limit_next_read(response: requests.Response, seconds: float) -> None:
    """Make the next read of the body's socket wait at most `seconds`: the read timeout set on
    the request bounds each wait for bytes, so near the deadline a wait must end there instead.
    urllib3 sets the read timeout again when the connection is reused."""
    connection = getattr(response.raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        sock.settimeout(max(seconds, 0.001))


def _drain(response: requests.Response) -> None:
    """Read a small error body so its connection goes back to the pool; a large one is left
    unread and its connection is closed instead."""
    declared = response.headers.get("Content-Length", "")
    if not declared.isdigit() or int(declared) > DRAIN_LIMIT_BYTES:
        return
    try:
        response.raw.read(DRAIN_LIMIT_BYTES, decode_content=False)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        log.debug("error body of %s not drained: %s", response.url, exc)
