"""Collecting one district or the summary for one logical date: download, accept, normalize.

A download is accepted (DOMAIN.md section 4) before anything else sees it, and only accepted
bodies enter the response cache. The archive path `/{PY}/` is tried first; when it answers 5xx
or a redirect for the live program year, the root path, which serves only the live program year
(DOMAIN.md section 2).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

from districts import ids

from .client import DashboardClient
from .csv import ParsedExport, accept_export, parse_export
from .errors import DashboardError, ValidationFailed
from .normalize import normalize_district, normalize_summary
from .reports import PER_DISTRICT_REPORTS, ReportType
from .responses import REDIRECT_STATUSES
from .statistics import DistrictStatistics
from .urls import ExportRequest, export_urls, program_year_of, request_for

log = logging.getLogger(__name__)

StopCheck = Callable[[], bool]
# Where the exports of a collection come from: the dashboard (`fetch_export`) or the raw archive
# (re-normalization). Returns the accepted export and its bytes.
Fetch = Callable[[ExportRequest], tuple[ParsedExport, bytes]]


class CollectionCancelled(Exception):
    """`should_stop` answered True before a request: the collection stopped, nothing stored."""


@dataclass(frozen=True)
class CollectedDistrict:
    """One district's statistics for a logical date and the raw bytes of its three exports."""

    statistics: DistrictStatistics
    raw: dict[ReportType, bytes]
    as_of: date  # the as-of date the exports were collected at (the raw archive's key)
    requests: int  # HTTP requests sent for this collection (0 when all came from the cache)


@dataclass(frozen=True)
class CollectedSummary:
    """Summary statistics of every district for a logical date, and the raw summary export."""

    statistics_by_district: dict[str, DistrictStatistics]
    raw: bytes
    as_of: date
    requests: int


def fetch_export(
    client: DashboardClient, request: ExportRequest, *, today: date | None = None
) -> tuple[ParsedExport, bytes]:
    """The accepted export for `request` and its raw bytes, from the cache or the dashboard.

    Tries the archive path `/{PY}/` first. For the live program year (the one containing
    `today`, default the current date) a 5xx or a redirect from the archive sends the request
    to the root path, which serves only the live year; the client then asks the root first for
    that year. For past years a 5xx is retried on the archive (the root would answer them
    header-only) and a redirect still tries the root. Raises DashboardError (see
    `DashboardClient.get`), ValidationFailed or DataUnavailable when the answer is not
    acceptable (`accept_export`).
    """
    archive_url, root_url = export_urls(request, client.base_url)
    for url in (archive_url, root_url):
        data = client.cached(url)
        if data is None:
            continue
        try:
            return accept(data, request), data
        except DashboardError as exc:
            log.warning("cached body of %s is no longer accepted (%s); downloading", url, exc)
    parsed, data, url = _fetch(client, request, today=today, accept=accept)
    client.remember(url, data)
    return parsed, data


def served_data_month(
    client: DashboardClient, *, as_of: date, today: date | None = None
) -> date | None:
    """The data month the dashboard serves at `as_of`, read from a district summary's footer.

    Asks for the summary of `as_of`'s own month. The answer is that month when it has data, the
    previous month when the site is still closing it (the footer names it), or None when the
    site answers header-only: it has no data for `as_of`'s month yet, which while a month is
    closing means the previous one is still served (DOMAIN.md section 1). One request (two
    when the archive path falls through to the root, see `fetch_export`), never cached: the
    answer changes when the closing period ends. Raises DashboardError from the download and
    ValidationFailed when the answer is not a summary of that as-of for either month.
    """
    month = as_of.replace(day=1)
    request = ExportRequest(
        report=ReportType.DISTRICT_SUMMARY,
        district_id=None,
        data_month=month,
        as_of=as_of,
        logical_date=as_of,
    )

    def read(data: bytes, request: ExportRequest) -> ParsedExport:
        parsed = parse_export(data)
        if parsed.report != ReportType.DISTRICT_SUMMARY:
            raise ValidationFailed(f"expected a district summary, got {parsed.report}")
        if parsed.footer.as_of != as_of:
            raise ValidationFailed(
                f"footer as-of {parsed.footer.as_of} != requested as-of {as_of} (closing probe)"
            )
        previous = (month - timedelta(days=1)).replace(day=1)
        if parsed.footer.data_month not in (month, previous):
            raise ValidationFailed(
                f"footer data month {parsed.footer.data_month:%Y-%m} is neither "
                f"{month:%Y-%m} nor {previous:%Y-%m} (closing probe at {as_of})"
            )
        return parsed

    parsed, _, _ = _fetch(client, request, today=today, accept=read)
    return parsed.footer.data_month if parsed.rows else None


def _fetch(
    client: DashboardClient,
    request: ExportRequest,
    *,
    today: date | None,
    accept: Callable[[bytes, ExportRequest], ParsedExport],
) -> tuple[ParsedExport, bytes, str]:
    """Download `request` from the archive path, falling through to the root (see
    `fetch_export`); returns what `accept` made of the body, the body and the URL."""
    archive_url, root_url = export_urls(request, client.base_url)
    live = request.program_year >= program_year_of(today or date.today())
    if live and client.root_serves(request.program_year):
        return (*_download(client, request, root_url, accept=accept), root_url)

    def falls_through(exc: DashboardError) -> bool:
        status = exc.status_code or 0
        return status in REDIRECT_STATUSES or (live and status >= 500)

    try:
        return (
            *_download(client, request, archive_url, accept=accept, give_up=falls_through),
            archive_url,
        )
    except DashboardError as exc:
        if not falls_through(exc):
            raise
        log.info("archive path of %s answered %s; trying the root path", request.token, exc)
    parsed, data = _download(client, request, root_url, accept=accept)
    if live:
        client.note_root_serves(request.program_year)
    return parsed, data, root_url


def _download(
    client: DashboardClient,
    request: ExportRequest,
    url: str,
    *,
    accept: Callable[[bytes, ExportRequest], ParsedExport],
    give_up: Callable[[DashboardError], bool] | None = None,
) -> tuple[ParsedExport, bytes]:
    data = client.get(url, give_up=give_up)
    return accept(data, request), data


def accept(data: bytes, request: ExportRequest) -> ParsedExport:
    """Accept `data` as the answer to `request` (`accept_export`): the same rules whether it was
    just downloaded or read back from the raw archive."""
    return accept_export(
        data,
        report=request.report,
        data_month=request.data_month,
        as_of=request.as_of,
        district_id=request.district_id,
    )


def _check(should_stop: StopCheck | None) -> None:
    if should_stop is not None and should_stop():
        raise CollectionCancelled("collection cancelled before the next request")


def collect_district(
    client: DashboardClient,
    *,
    district_id: str,
    logical_date: date,
    should_stop: StopCheck | None = None,
    today: date | None = None,
) -> CollectedDistrict:
    """Full statistics of one district for `logical_date` from its three reports, downloaded.

    `district_id` may be canonical (`"2"`) or as the site spells it (`"02"`): the URLs carry
    the site's form, the statistics the canonical id (DOMAIN.md section 6). `should_stop` is
    asked before each report request; `today` decides the live program year (see
    `fetch_export`). Raises CollectionCancelled, DashboardError (download, acceptance) and
    ValidationFailed (normalization: reports that disagree).
    """
    before = client.requests_made
    collected = district_from(
        lambda request: fetch_export(client, request, today=today),
        district_id=district_id,
        logical_date=logical_date,
        should_stop=should_stop,
    )
    return replace(collected, requests=client.requests_made - before)


def district_from(
    fetch: Fetch, *, district_id: str, logical_date: date, should_stop: StopCheck | None = None
) -> CollectedDistrict:
    """Full statistics of one district for `logical_date` from the three reports `fetch`
    gives (its `requests` is 0: the caller counts them). Raises as `collect_district`."""
    parsed: dict[ReportType, ParsedExport] = {}
    raw: dict[ReportType, bytes] = {}
    for report in PER_DISTRICT_REPORTS:
        _check(should_stop)
        parsed[report], raw[report] = fetch(request_for(report, logical_date, district_id))
    statistics = normalize_district(
        district_performance=parsed[ReportType.DISTRICT_PERFORMANCE],
        division_performance=parsed[ReportType.DIVISION_PERFORMANCE],
        club_performance=parsed[ReportType.CLUB_PERFORMANCE],
        district_id=ids.canonical_district_id(district_id),
        logical_date=logical_date,
    )
    return CollectedDistrict(
        statistics=statistics,
        raw=raw,
        as_of=parsed[ReportType.CLUB_PERFORMANCE].footer.as_of,
        requests=0,
    )


def collect_summary(
    client: DashboardClient,
    *,
    logical_date: date,
    should_stop: StopCheck | None = None,
    today: date | None = None,
) -> CollectedSummary:
    """Summary statistics of every district for `logical_date` from one district summary,
    downloaded.

    `should_stop` is asked before the request; `today` decides the live program year.

    Raises CollectionCancelled, DashboardError (download, acceptance) and ValidationFailed
    (normalization).
    """
    before = client.requests_made
    collected = summary_from(
        lambda request: fetch_export(client, request, today=today),
        logical_date=logical_date,
        should_stop=should_stop,
    )
    return replace(collected, requests=client.requests_made - before)


def summary_from(
    fetch: Fetch, *, logical_date: date, should_stop: StopCheck | None = None
) -> CollectedSummary:
    """Summary statistics of every district for `logical_date` from the district summary
    `fetch` gives (its `requests` is 0). Raises as `collect_summary`."""
    _check(should_stop)
    parsed, raw = fetch(request_for(ReportType.DISTRICT_SUMMARY, logical_date))
    return CollectedSummary(
        statistics_by_district=normalize_summary(summary=parsed, logical_date=logical_date),
        raw=raw,
        as_of=parsed.footer.as_of,
        requests=0,
    )
