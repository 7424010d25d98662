"""The simulator over HTTP: a threaded stdlib server, its request log and control endpoints.

Site URLs (`/export.aspx`, `/{PY}/export.aspx`, `/error.aspx`) answer like the real dashboard.
Control endpoints, never logged and never faulted:

- `GET /_simulator/health`
- `GET /_simulator/requests[?since=N]` -> `{"requests": [...], "next": N}`;
  `DELETE /_simulator/requests` clears the log
- `GET|POST|DELETE /_simulator/faults` (POST replaces the whole configuration: JSON object of
  `FaultConfig` fields; 400 on an unknown or invalid field)
- `GET|POST /_simulator/clock` (`{"today": "YYYY-MM-DD"}` or `{"today": null}` for the real date)
- `POST /_simulator/reset` clears the log and the faults
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import replace
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .exports import SimulatedDashboard
from .faults import FaultConfig, FaultDecision, FaultInjector
from .site import (
    ERROR_PAGE,
    HTML_CONTENT_TYPE,
    DashboardSite,
    ExportToken,
    SiteResponse,
    csv_response,
    html_response,
    parse_token,
)

CONTROL_PREFIX = "/_simulator/"
# The control API's settings are a few fields; nothing the simulator serves takes a body.
MAX_BODY_BYTES = 64 * 1024
TOO_MANY_REQUESTS_PAGE = b"<html><body><h1>429 Too Many Requests</h1></body></html>\r\n"


def _error_page(status: int) -> bytes:
    return f"<html><body><h1>{status} Server Error</h1></body></html>\r\n".encode()


class RequestLog:
    """Every site request with its start time, what it asked for and what it got; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []

    def start(self, *, method: str, path: str, token: ExportToken | None) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "time": time.time(),
            "method": method,
            "path": path,
            "report": token.report.value if token else None,
            "district": token.district_id if token else None,
            "month_end": token.month_end.isoformat() if token and token.month_end else None,
            "as_of": token.as_of.isoformat() if token and token.as_of else None,
            "program_year": token.program_year if token else None,
            "status": None,
            "bytes": None,
            "fault": None,
            "duration_ms": None,
        }
        with self._lock:
            entry["index"] = len(self._entries)
            self._entries.append(entry)
        return entry

    def note_fault(self, entry: dict[str, Any], fault: str | None) -> None:
        """Record the fault as soon as it is decided (a hanging request has no status yet)."""
        with self._lock:
            entry["fault"] = fault

    def finish(self, entry: dict[str, Any], *, status: int, size: int, fault: str | None) -> None:
        with self._lock:
            entry.update(
                status=status,
                bytes=size,
                fault=fault,
                duration_ms=round((time.time() - entry["time"]) * 1000, 3),
            )

    def entries(self, since: int = 0) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._entries[since:]]

    def clear(self) -> int:
        with self._lock:
            count = len(self._entries)
            self._entries = []
            return count

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    simulator: SimulatorServer


class SimulatorServer:
    """The simulated dashboard on `host:port` (port 0: a free one, see `base_url`)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
        today: date | None = None,
        faults: FaultConfig | None = None,
        verbose: bool = False,
    ) -> None:
        self.dashboard = SimulatedDashboard(seed=seed)
        self.site = DashboardSite(dashboard=self.dashboard, today=today)
        self.faults = FaultInjector(faults)
        self.log = RequestLog()
        self.verbose = verbose
        self.httpd = _HTTPServer((host, port), _Handler)
        self.httpd.simulator = self
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.1)

    def start(self) -> SimulatorServer:
        """Serve from a daemon thread; returns self."""
        self._thread = threading.Thread(
            target=self.serve_forever, name="dashboard-simulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.faults.release_hangs()
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def reset(self) -> None:
        self.log.clear()
        self.faults.clear()

    def answer(self, *, method: str, path: str) -> tuple[SiteResponse, FaultDecision, dict]:
        """Decide and build the answer to a site request (faults included) and log it."""
        url = urlsplit(path)
        params = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        token = None
        is_export = url.path.lower().endswith("export.aspx")
        if is_export:
            try:
                token = parse_token(params.get("report", ""))
            except ValueError:
                token = None
        entry = self.log.start(method=method, path=path, token=token)
        decision = self.faults.decide(token) if is_export else FaultDecision()
        self.log.note_fault(entry, decision.label)
        if decision.latency:
            decision.wake.wait(decision.latency)
        if decision.kind == "hang":
            decision.wake.wait(decision.hang_seconds)
        return self._faulted(method, url.path, params, decision), decision, entry

    def _faulted(
        self, method: str, path: str, params: dict[str, str], decision: FaultDecision
    ) -> SiteResponse:
        if method != "GET":
            return html_response(405, _error_page(405))
        match decision.kind:
            case "rate_limit":
                return SiteResponse(
                    status=429,
                    body=TOO_MANY_REQUESTS_PAGE,
                    content_type=HTML_CONTENT_TYPE,
                    headers=(("Retry-After", str(decision.retry_after)),),
                )
            case "error":
                return html_response(decision.error_status, _error_page(decision.error_status))
            case "html_error":
                return html_response(200, ERROR_PAGE)
            case "redirect":
                return SiteResponse(
                    status=302,
                    body=b"",
                    content_type=HTML_CONTENT_TYPE,
                    headers=(("Location", decision.redirect_location),),
                )
        response = self.site.respond(path, params)
        export = response.export
        if export is None:
            return response
        if decision.failing_district:
            return html_response(200, ERROR_PAGE, response.token)
        if decision.unknown_district or decision.no_data:
            response = csv_response(replace(export, rows=()), response.token)
        if decision.kind == "malformed":
            return replace(response, body=malformed(response.body))
        if decision.kind == "truncated" and decision.truncate_mode == "content":
            return replace(response, body=response.body[: math.ceil(len(response.body) * 0.6)])
        return response


def malformed(body: bytes) -> bytes:
    """A broken rendition of a CSV: mangled header, an unbalanced quote, a garbled footer."""
    lines = body.split(b"\r\n")
    header = lines[0].replace(b'","', b'";"').replace(b"District", b"Distr\xefct")
    rows = [line.replace(b'","', b'",', 1) for line in lines[1:-2]]
    return b"\r\n".join([header, *rows, b"Month of ???, As of 99/99/9999", b""])


DRIP_STEPS_PER_SECOND = 10


def _drip(out: Any, body: bytes, decision: FaultDecision) -> None:
    """Write `body` a few bytes at a time, `drip_bytes_per_second` a second."""
    rate = decision.drip_bytes_per_second
    step = max(1, rate // DRIP_STEPS_PER_SECOND)
    for start in range(0, len(body), step):
        out.write(body[start : start + step])
        out.flush()
        if decision.wake.wait(step / rate):
            out.write(body[start + step :])
            return


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""
    server: _HTTPServer
    request_body = b""

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.simulator.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            self.close_connection = True  # the body is left unread
            self._json(413, {"error": f"a request body is at most {MAX_BODY_BYTES} bytes"})
            return
        self.request_body = self.rfile.read(length) if length else b""
        if self.path.startswith(CONTROL_PREFIX):
            self._control(method)
            return
        simulator = self.server.simulator
        response, decision, entry = simulator.answer(method=method, path=self.path)
        cut_connection = decision.kind == "truncated" and decision.truncate_mode == "connection"
        body = response.body[: len(response.body) // 2] if cut_connection else response.body
        simulator.log.finish(entry, status=response.status, size=len(body), fault=decision.label)
        self._send(
            response.status,
            response.content_type,
            response.body,
            response.headers,
            sent=body if cut_connection else None,
            drip=decision if decision.kind == "drip" else None,
        )

    def _send(
        self,
        status: int,
        content_type: str,
        body: bytes,
        headers: tuple[tuple[str, str], ...] = (),
        *,
        sent: bytes | None = None,
        drip: FaultDecision | None = None,
    ) -> None:
        """Send a response; with `sent`, announce `body`'s length but send only `sent` and
        close (a connection dropped mid-body); with `drip`, send the body at its
        `drip_bytes_per_second` (the rest at once when the server stops or faults change)."""
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers:
                self.send_header(name, value)
            if sent is not None:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if drip is not None:
                _drip(self.wfile, body, drip)
            else:
                self.wfile.write(body if sent is None else sent)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a hang longer than its timeout): nothing left to tell it.
            self.close_connection = True

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, "application/json", json.dumps(payload).encode())

    def _read_json(self) -> Any:
        try:
            return json.loads(self.request_body) if self.request_body.strip() else {}
        except RecursionError:
            raise ValueError("the JSON body is nested too deeply") from None

    def _control(self, method: str) -> None:
        simulator = self.server.simulator
        url = urlsplit(self.path)
        resource = url.path[len(CONTROL_PREFIX) :].strip("/")
        try:
            body = self._read_json() if method == "POST" else None
            match (method, resource):
                case ("GET", "health"):
                    self._json(200, _health(simulator))
                case ("GET", "requests"):
                    since = int(parse_qs(url.query).get("since", ["0"])[0])
                    entries = simulator.log.entries(max(since, 0))
                    self._json(200, {"requests": entries, "next": max(since, 0) + len(entries)})
                case ("DELETE", "requests"):
                    self._json(200, {"cleared": simulator.log.clear()})
                case ("POST", "reset"):
                    simulator.reset()
                    self._json(200, {"reset": True})
                case ("GET", "faults"):
                    self._json(200, simulator.faults.snapshot())
                case ("POST", "faults"):
                    if not isinstance(body, dict):
                        raise ValueError("expected a JSON object of fault settings")
                    simulator.faults.configure(FaultConfig.from_dict(body))
                    self._json(200, simulator.faults.snapshot())
                case ("DELETE", "faults"):
                    simulator.faults.clear()
                    self._json(200, simulator.faults.snapshot())
                case ("GET", "clock"):
                    self._json(200, _clock(simulator))
                case ("POST", "clock"):
                    today = body.get("today") if isinstance(body, dict) else None
                    simulator.site.today_override = date.fromisoformat(today) if today else None
                    self._json(200, _clock(simulator))
                case _:
                    self._json(404, {"error": f"no control endpoint {method} {url.path}"})
        except ValueError as exc:
            self._json(400, {"error": str(exc)})


def _clock(simulator: SimulatorServer) -> dict[str, Any]:
    site = simulator.site
    return {
        "today": site.today.isoformat(),
        "overridden": site.today_override is not None,
        "live_program_year": str(site.live_program_year),
    }


def _health(simulator: SimulatorServer) -> dict[str, Any]:
    return {"status": "ok", "seed": simulator.dashboard.seed, **_clock(simulator)}
