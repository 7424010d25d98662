"""`GET /metrics`: Prometheus's text format, for a scraper that shows a token or comes from an
allowed address.

The body is the serving process's own metrics (prometheus_client's default registry: Python,
the process, and django-prometheus's HTTP and database metrics; with `PROMETHEUS_MULTIPROC_DIR`
set, those of every process of the server, prometheus_client's multiprocess mode) followed by
the Backfill collector (monitoring/collectors.py), which reads the database and Redis now.
"""

from __future__ import annotations

import hmac
import ipaddress
import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

from .collectors import backfill_registry

_backfill = backfill_registry()


def scraper_allowed(request: HttpRequest) -> bool:
    """True for `Authorization: Bearer <METRICS_TOKEN>` (when a token is set) or a peer address
    (REMOTE_ADDR: the proxy's, behind one) inside METRICS_ALLOWED_IPS."""
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token):
        return True
    try:
        peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(
        peer in ipaddress.ip_network(entry, strict=False) for entry in settings.METRICS_ALLOWED_IPS
    )


def process_registry() -> CollectorRegistry:
    """The process's metrics: every server process's in multiprocess mode, else this one's."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not scraper_allowed(request):
        return HttpResponseForbidden(
            "403 Forbidden: /metrics needs `Authorization: Bearer <METRICS_TOKEN>` or an address "
            "in METRICS_ALLOWED_IPS.\n",
            content_type="text/plain",
        )
    body = generate_latest(process_registry()) + generate_latest(_backfill)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
