"""`/healthz` and `/readyz`, answered before any other middleware: a probe from a load balancer
or a container's healthcheck carries no session, may use plain HTTP behind a TLS proxy (no
HTTPS redirect) and any Host header (the container's own address is not in ALLOWED_HOSTS)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from .checks import run_checks

HEALTHZ = "/healthz"
READYZ = "/readyz"


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if request.path == HEALTHZ:
            return _no_store(JsonResponse({"status": "ok"}))
        if request.path == READYZ:
            return _no_store(readyz(request))
        return self.get_response(request)


def readyz(request: HttpRequest) -> JsonResponse:
    """200 when every check passes, else 503; `?check=database&check=redis` runs only those
    (a load balancer in front of the web processes may not want to drop them for a dead
    worker)."""
    try:
        results = run_checks(request.GET.getlist("check"))
    except KeyError as exc:
        return JsonResponse({"status": "error", "error": exc.args[0]}, status=400)
    ready = all(result.ok for result in results)
    body = {
        "status": "ready" if ready else "unready",
        "checks": {result.name: result.as_dict() for result in results},
    }
    return JsonResponse(body, status=200 if ready else 503)


def _no_store(response: JsonResponse) -> JsonResponse:
    response["Cache-Control"] = "no-store"
    return response
