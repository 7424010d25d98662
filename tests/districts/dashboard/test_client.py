"""The dashboard HTTP client over real HTTP against the simulator: retries, error types,
Retry-After, timeouts, redirects, the size cap, hooks and counters."""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backfill_project import counters
from districts.dashboard.client import DashboardClient, parse_retry_after
from districts.dashboard.errors import DashboardError, DataUnavailable, ErrorType, ValidationFailed

PAST_TOKEN = "clubperformance~21~3/31/2025~3/14/2025~2024-2025"


class Recorder:
    """Stands in for the hooks and `sleep`: records what the client asked for."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.before: list[str] = []
        self.after: list[tuple[str, int | None, float | None]] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def before_request(self, url: str) -> None:
        self.before.append(url)

    def after_response(self, url: str, status: int | None, retry_after: float | None) -> None:
        self.after.append((url, status, retry_after))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def make_client(simulator, recorder):
    clients: list[DashboardClient] = []

    def make(**kwargs) -> DashboardClient:
        options = {
            "base_url": simulator.base_url,
            "before_request": recorder.before_request,
            "after_response": recorder.after_response,
            "sleep": recorder.sleep,
            "backoff_base": 0.01,
            "backoff_max": 0.05,
            "max_attempts": 4,
            "read_timeout": 5,
        } | kwargs
        client = DashboardClient(**options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def url(simulator) -> str:
    return simulator.export_url(PAST_TOKEN, program_year="2024-2025")


def test_get_returns_the_export_body_in_one_request(simulator, make_client, url, recorder):
    client = make_client()

    body = client.get(url)

    assert body.startswith(b'"District","Division"')
    assert body.endswith(b"Month of Mar, As of 03/14/2025\r\n")
    assert len(simulator.requests()) == 1
    assert (client.requests_made, client.retries, client.bytes_received) == (1, 0, len(body))
    assert recorder.before == [url]
    assert recorder.after == [(url, 200, None)]
    assert recorder.sleeps == []


def test_session_sends_a_descriptive_user_agent_and_never_follows_redirects(make_client):
    client = make_client(user_agent="BackfillTest/1.0 (+https://example.org)")
    assert client.session.headers["User-Agent"] == "BackfillTest/1.0 (+https://example.org)"
    assert client.session.trust_env is False
    with DashboardClient(base_url="http://x") as default:
        assert default.session.headers["User-Agent"].startswith("BackfillBot/")


@pytest.mark.parametrize("status", [500, 503])
def test_server_error_is_retried_until_the_fault_clears(
    simulator, make_client, url, recorder, status
):
    simulator.set_faults(fail_next=2, error_status=status)
    client = make_client()

    body = client.get(url)

    assert body.endswith(b"As of 03/14/2025\r\n")
    assert [entry["status"] for entry in simulator.requests()] == [status, status, 200]
    assert recorder.before == [url] * 3
    assert [status_code for _, status_code, _ in recorder.after] == [status, status, 200]
    assert len(recorder.sleeps) == 2
    assert all(0 <= wait <= 0.05 for wait in recorder.sleeps)
    assert (client.requests_made, client.retries) == (3, 2)


def test_server_errors_past_the_last_attempt_fail_retryable(simulator, make_client, url):
    simulator.set_faults(fail_next=10, error_status=503)
    client = make_client(max_attempts=3)

    with pytest.raises(DashboardError) as caught:
        client.get(url)

    assert caught.value.error_type == ErrorType.FETCH_FAILED
    assert caught.value.retryable is True
    assert caught.value.status_code == 503
    assert "3 attempts" in caught.value.message
    assert len(simulator.requests()) == 3


def test_rate_limit_waits_at_least_retry_after_then_succeeds(simulator, make_client, url, recorder):
    simulator.set_faults(rate_limit_next=1, retry_after=2)
    client = make_client()

    client.get(url)

    assert [entry["status"] for entry in simulator.requests()] == [429, 200]
    assert recorder.sleeps[0] >= 2
    assert recorder.after[0] == (url, 429, 2.0)


def test_retry_after_above_60_s_is_waited_in_full_and_reported_in_full(
    simulator, make_client, url, recorder
):
    # Issue 9 finding 4: a 90 s Retry-After was cut to 60 s, for the wait and the cooldown.
    simulator.set_faults(rate_limit_next=1, retry_after=90)
    client = make_client(max_retry_after=300)

    client.get(url)

    assert recorder.sleeps[0] >= 90
    assert recorder.after[0] == (url, 429, 90.0)


def test_retry_after_beyond_the_maximum_fails_retryable_naming_it_and_is_reported_in_full(
    simulator, make_client, url, recorder
):
    simulator.set_faults(rate_limit_next=1, retry_after=3600)
    client = make_client(max_retry_after=5)

    with pytest.raises(DashboardError) as caught:
        client.get(url)

    assert recorder.sleeps == []  # nothing slept, nothing sent again
    assert len(simulator.requests()) == 1
    assert caught.value.retryable is True
    assert caught.value.error_type == ErrorType.RATE_LIMIT_ERROR
    assert "Retry-After 3600 s" in caught.value.message
    assert caught.value.retry_after == 3600.0
    assert recorder.after[0] == (url, 429, 3600.0)  # the shared cooldown gets it all


def test_max_retry_after_defaults_to_the_setting(settings):
    settings.BACKFILL_MAX_RETRY_AFTER_SECONDS = 123
    assert DashboardClient(base_url="http://127.0.0.1:9").max_retry_after == 123


def test_rate_limit_on_every_attempt_fails_retryable_as_rate_limit_error(
    simulator, make_client, url
):
    simulator.set_faults(rate_limit_next=5, retry_after=1)
    client = make_client(max_attempts=2)

    with pytest.raises(DashboardError) as caught:
        client.get(url)

    assert caught.value.error_type == ErrorType.RATE_LIMIT_ERROR
    assert caught.value.retryable is True
    assert caught.value.retry_after == 1.0


def test_rate_limit_wait_is_measured_in_real_time(simulator, url):
    simulator.set_faults(rate_limit_next=1, retry_after=1)
    with DashboardClient(base_url=simulator.base_url, backoff_base=0.01, backoff_max=0.02) as c:
        c.get(url)
    first, second = simulator.requests()
    assert second["time"] - first["time"] >= 1.0


def test_hang_is_a_retryable_timeout_error(simulator, make_client, url):
    simulator.set_faults(hang_next=1, hang_seconds=3)
    client = make_client(read_timeout=0.2, max_attempts=1)

    with pytest.raises(DashboardError) as caught:
        client.get(url)

    assert caught.value.error_type == ErrorType.TIMEOUT_ERROR
    assert caught.value.retryable is True


def test_hang_then_answer_succeeds_on_the_next_attempt(simulator, make_client, url, recorder):
    simulator.set_faults(hang_next=1, hang_seconds=3)
    client = make_client(read_timeout=0.2)

    assert client.get(url).endswith(b"\r\n")
    assert [status for _, status, _ in recorder.after] == [None, 200]


@pytest.mark.parametrize("rate", [200, 1])
def test_a_dripping_body_ends_at_the_download_deadline_as_a_retryable_timeout(
    simulator, make_client, url, rate
):
    # About 7 KB at 200 bytes a second would take ~35 s; each read may wait only until the
    # deadline, however many bytes keep trickling in meanwhile (at 1 byte a second, a read
    # waiting for the next byte is cut short at the deadline too).
    simulator.set_faults(drip_next=1, drip_bytes_per_second=rate)
    deadline = 1.5
    client = make_client(download_deadline=deadline, max_attempts=1)

    started = time.monotonic()
    with pytest.raises(DashboardError) as caught:
        client.get(url)
    overshoot = time.monotonic() - started - deadline

    print(f"drip of {rate} B/s against a {deadline} s deadline: ended {overshoot:+.3f} s past it")
    assert caught.value.error_type == ErrorType.TIMEOUT_ERROR
    assert caught.value.retryable is True
    assert "took longer than 1.5 s" in caught.value.message
    assert 0 <= client.bytes_received < 1500
    assert overshoot < 0.25


def test_a_drip_faster_than_the_deadline_is_read_whole(simulator, make_client, url):
    expected = make_client().get(url)
    simulator.set_faults(drip_next=1, drip_bytes_per_second=40_000)

    assert make_client(download_deadline=5, max_attempts=1).get(url) == expected


def test_connection_dropped_mid_body_is_a_retryable_network_error(
    simulator, make_client, url, recorder
):
    simulator.set_faults(truncated_next=1, truncate_mode="connection")
    client = make_client()

    body = client.get(url)

    assert body.endswith(b"As of 03/14/2025\r\n")
    assert [status for _, status, _ in recorder.after] == [None, 200]
    assert client.retries == 1


def test_not_found_is_not_retried(simulator, make_client):
    client = make_client()

    with pytest.raises(DashboardError) as caught:
        client.get(f"{simulator.base_url}/no-such-page.aspx")

    assert caught.value.error_type == ErrorType.FETCH_FAILED
    assert caught.value.retryable is False
    assert caught.value.status_code == 404
    assert len(simulator.requests()) == 1


def test_redirect_is_data_unavailable_and_not_followed(simulator, make_client, recorder):
    client = make_client()
    unpublished = simulator.export_url(
        "clubperformance~21~8/31/2031~8/10/2031~2031-2032", program_year="2031-2032"
    )

    with pytest.raises(DataUnavailable) as caught:
        client.get(unpublished)

    assert caught.value.retryable is False
    assert caught.value.status_code == 302
    assert "/error.aspx" in caught.value.message
    assert [entry["status"] for entry in simulator.requests()] == [302]
    assert recorder.after == [(unpublished, 302, None)]


def test_redirect_to_another_host_is_fetch_failed_naming_the_target(
    simulator, make_client, url, recorder
):
    simulator.set_faults(redirect_next=1, redirect_location="https://elsewhere.example/moved?x=1")
    client = make_client()

    with pytest.raises(DashboardError) as caught:
        client.get(url)

    assert caught.value.error_type == ErrorType.FETCH_FAILED
    assert caught.value.retryable is True
    assert caught.value.status_code == 302
    assert "https://elsewhere.example/moved?x=1" in caught.value.message
    # Not followed and not asked again at once: the unit's next attempt asks again.
    assert [entry["status"] for entry in simulator.requests()] == [302]


@pytest.mark.parametrize(
    "location",
    ["/Default.aspx", "http://127.0.0.1:1/error.aspx", "//elsewhere.example/error.aspx", ""],
)
def test_redirect_anywhere_but_the_sites_error_page_is_fetch_failed(
    simulator, make_client, url, location
):
    simulator.set_faults(redirect_next=1, redirect_location=location)

    with pytest.raises(DashboardError) as caught:
        make_client().get(url)

    assert caught.value.error_type == ErrorType.FETCH_FAILED
    assert (location or "nowhere") in caught.value.message


def test_body_over_the_size_cap_fails_without_retry(simulator, make_client, url):
    client = make_client(max_bytes=1000)

    with pytest.raises(ValidationFailed) as caught:
        client.get(url)

    assert caught.value.retryable is False
    assert len(simulator.requests()) == 1


def test_connection_refused_is_a_retryable_network_error(make_client, recorder):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    closed = f"http://127.0.0.1:{port}/export.aspx"
    client = make_client(base_url=f"http://127.0.0.1:{port}", max_attempts=2)

    with pytest.raises(DashboardError) as caught:
        client.get(closed)

    assert caught.value.error_type == ErrorType.NETWORK_ERROR
    assert caught.value.retryable is True
    assert recorder.before == [closed, closed]
    assert recorder.after == [(closed, None, None), (closed, None, None)]


def test_retryable_error_from_before_request_is_retried_after_its_retry_after(
    simulator, make_client, url, recorder
):
    calls: list[str] = []

    def breaker_open_once(target: str) -> None:
        calls.append(target)
        if len(calls) == 1:
            raise DashboardError(
                ErrorType.FETCH_FAILED, "circuit open", retryable=True, retry_after=1.5
            )

    client = make_client(before_request=breaker_open_once)

    client.get(url)

    assert calls == [url, url]
    assert recorder.sleeps[0] >= 1.5
    assert len(simulator.requests()) == 1
    # Nothing was sent on the refused attempt, so nothing is reported back for it.
    assert recorder.after == [(url, 200, None)]
    assert (client.requests_made, client.retries) == (1, 1)


def test_non_retryable_error_from_before_request_sends_nothing(simulator, make_client, url):
    def refuse(target: str) -> None:
        raise DashboardError(ErrorType.SCOPE_VIOLATION, "not allowed", retryable=False)

    client = make_client(before_request=refuse)

    with pytest.raises(DashboardError) as caught:
        client.get(url)

    assert caught.value.error_type == ErrorType.SCOPE_VIOLATION
    assert simulator.requests() == []
    assert client.requests_made == 0


def test_other_exceptions_from_before_request_propagate_unchanged(simulator, make_client, url):
    class Stopped(Exception):
        pass

    def stop(target: str) -> None:
        raise Stopped

    client = make_client(before_request=stop)

    with pytest.raises(Stopped):
        client.get(url)
    assert simulator.requests() == []


def test_give_up_stops_retrying_at_once(simulator, make_client, url):
    simulator.set_faults(fail_next=3)
    client = make_client()

    with pytest.raises(DashboardError) as caught:
        client.get(url, give_up=lambda error: error.status_code == 500)

    assert caught.value.status_code == 500
    assert len(simulator.requests()) == 1


def test_counters_add_up_across_threads(simulator, make_client, url):
    client = make_client()
    size = len(client.get(url))

    threads = [
        threading.Thread(target=lambda: [client.get(url) for _ in range(3)]) for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert client.requests_made == 19
    assert client.bytes_received == 19 * size
    assert len(simulator.requests()) == 19


def test_cache_helpers_count_hits_and_never_request(simulator, make_client, url, recorder):
    store: dict[str, bytes] = {}

    class DictCache:
        def get(self, key: str) -> bytes | None:
            return store.get(key)

        def set(self, key: str, data: bytes) -> None:
            store[key] = data

    client = make_client(cache=DictCache())
    assert client.cached(url) is None
    client.remember(url, b"body")

    assert client.cached(url) == b"body"
    assert client.cache_hits == 1
    assert simulator.requests() == []
    assert recorder.before == []


def test_unreachable_cache_counts_as_a_miss(make_client, url):
    class BrokenCache:
        def get(self, key: str) -> bytes | None:
            raise DashboardError(ErrorType.NETWORK_ERROR, "redis down")

        def set(self, key: str, data: bytes) -> None:
            raise DashboardError(ErrorType.NETWORK_ERROR, "redis down")

    client = make_client(cache=BrokenCache())
    assert client.cached(url) is None
    client.remember(url, b"body")


# --- Retry-After --------------------------------------------------------------------------
NOW = datetime(2026, 9, 23, 12, 0, tzinfo=UTC)


def test_retry_after_reads_seconds_and_http_dates():
    assert parse_retry_after("7", now=NOW) == 7
    assert (
        parse_retry_after(format_datetime(NOW + timedelta(seconds=30), usegmt=True), now=NOW) == 30
    )
    assert parse_retry_after(format_datetime(NOW - timedelta(days=1), usegmt=True), now=NOW) == 0
    assert parse_retry_after("999999", cap=60, now=NOW) == 60
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None


@settings(max_examples=200)
@given(
    value=st.one_of(
        st.text(max_size=40),
        st.integers(min_value=-(10**12), max_value=10**12).map(str),
        st.datetimes(min_value=datetime(2016, 9, 23), max_value=datetime(2036, 9, 23)).map(
            lambda moment: format_datetime(moment.replace(tzinfo=UTC), usegmt=True)
        ),
    ),
    cap=st.floats(min_value=0, max_value=600),
)
def test_retry_after_never_raises_and_stays_between_zero_and_the_cap(value, cap):
    seconds = parse_retry_after(value, cap=cap, now=NOW)
    assert seconds is None or 0 <= seconds <= cap


def test_every_request_sent_is_counted_by_outcome_for_every_process(simulator, make_client, url):
    before = counters.totals(counters.DASHBOARD_REQUESTS)
    simulator.set_faults(fail_next=1, error_status=503)
    make_client().get(url)
    simulator.set_faults(rate_limit_next=1, retry_after=0)
    make_client().get(url)
    after = counters.totals(counters.DASHBOARD_REQUESTS)
    moved = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
    assert moved == {"5xx": 1, "429": 1, "200": 2}
