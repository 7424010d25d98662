"""Faults the simulator injects on demand, decided once per export request under one lock.

Two flavours per kind: `<kind>_next` fails exactly the next N matching requests (deterministic,
counted atomically across threads) and `<kind>_rate` fails each matching request with that
probability (drawn from a generator seeded by `seed`, so a fixed request order is repeatable).
At most one of these kinds applies to a request, in the order of `FAULT_KINDS`. Content faults
(`no_data_dates`, `unknown_districts`, `failing_districts`) and `latency_ms` apply on top.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from typing import Any

from districts.ids import canonical_district_id

from .site import ExportToken

# Precedence when several kinds are due for the same request.
FAULT_KINDS = (
    "hang", "rate_limit", "error", "redirect", "html_error", "malformed", "truncated", "drip",
)  # fmt: skip
_NEXT_FIELD = {kind: f"{kind}_next" for kind in FAULT_KINDS} | {"error": "fail_next"}
_RATE_FIELD = {kind: f"{kind}_rate" for kind in FAULT_KINDS}
ERROR_STATUSES = (500, 502, 503, 504)
TRUNCATE_MODES = ("content", "connection")


@dataclass(frozen=True)
class FaultConfig:
    """What to break. Scope: when `districts` or `reports` is not empty, the kinds above, the
    rates and `no_data_dates` apply only to requests for those districts / report types
    (`districts` never matches a summary request)."""

    fail_next: int = 0
    error_rate: float = 0.0
    error_status: int = 500
    rate_limit_next: int = 0
    rate_limit_rate: float = 0.0
    retry_after: int = 1
    latency_ms: int = 0
    hang_next: int = 0
    hang_rate: float = 0.0
    hang_seconds: float = 30.0
    html_error_next: int = 0
    html_error_rate: float = 0.0
    malformed_next: int = 0
    malformed_rate: float = 0.0
    truncated_next: int = 0
    truncated_rate: float = 0.0
    truncate_mode: str = "content"
    # A redirect the site never sends for missing data (to another host, by default).
    redirect_next: int = 0
    redirect_rate: float = 0.0
    redirect_location: str = "https://elsewhere.example/moved"
    # The body sent slowly: headers at once, then this many bytes a second.
    drip_next: int = 0
    drip_rate: float = 0.0
    drip_bytes_per_second: int = 200
    no_data_dates: tuple[date, ...] = ()
    unknown_districts: tuple[str, ...] = ()
    failing_districts: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    reports: tuple[str, ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
                raise ValueError(f"{item.name} must not be negative")
            if item.name.endswith("_rate") and value > 1:
                raise ValueError(f"{item.name} must be between 0 and 1")
        if self.error_status not in ERROR_STATUSES:
            raise ValueError(f"error_status must be one of {ERROR_STATUSES}")
        if self.drip_bytes_per_second < 1:
            raise ValueError("drip_bytes_per_second must be at least 1")
        if self.truncate_mode not in TRUNCATE_MODES:
            raise ValueError(f"truncate_mode must be one of {TRUNCATE_MODES}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaultConfig:
        """Build from JSON-like values (lists or comma-separated strings for the list fields,
        ISO dates); raises ValueError naming an unknown or invalid field."""
        known = {item.name: item for item in fields(cls)}
        values: dict[str, Any] = {}
        for name, raw in data.items():
            if name not in known:
                raise ValueError(f"unknown fault {name!r}; known: {', '.join(sorted(known))}")
            default = known[name].default
            try:
                values[name] = _coerce(name, raw, default)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"invalid value for {name}: {raw!r} ({exc})") from exc
        return cls(**values)

    @classmethod
    def from_assignments(cls, assignments: Iterable[str]) -> FaultConfig:
        """Build from command-line `KEY=VALUE` strings (lists comma-separated)."""
        data: dict[str, str] = {}
        for assignment in assignments:
            name, sep, value = assignment.partition("=")
            if not sep:
                raise ValueError(f"expected KEY=VALUE, got {assignment!r}")
            data[name.strip()] = value.strip()
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["no_data_dates"] = [day.isoformat() for day in self.no_data_dates]
        for name in ("unknown_districts", "failing_districts", "districts", "reports"):
            data[name] = list(data[name])
        return data


def _coerce(name: str, raw: Any, default: Any) -> Any:
    if isinstance(default, tuple):
        items = raw.split(",") if isinstance(raw, str) else list(raw)
        items = [str(item).strip() for item in items if str(item).strip()]
        if name == "no_data_dates":
            return tuple(date.fromisoformat(item) for item in items)
        return tuple(items)
    if isinstance(default, int):
        if isinstance(raw, float) and not raw.is_integer():
            raise ValueError("expected an integer")
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return str(raw)


@dataclass(frozen=True)
class FaultDecision:
    """The faults one request gets."""

    kind: str | None = None
    latency: float = 0.0
    hang_seconds: float = 0.0
    retry_after: int = 1
    error_status: int = 500
    truncate_mode: str = "content"
    redirect_location: str = ""
    drip_bytes_per_second: int = 200
    no_data: bool = False
    unknown_district: bool = False
    failing_district: bool = False
    wake: threading.Event = field(default_factory=threading.Event)

    @property
    def label(self) -> str | None:
        """What the request log records as the request's fault."""
        content = [
            name
            for name, active in (
                ("failing_district", self.failing_district),
                ("unknown_district", self.unknown_district),
                ("no_data", self.no_data),
            )
            if active
        ]
        return self.kind or (content[0] if content else None)


class FaultInjector:
    """The current fault configuration and its remaining "next N" counts; thread-safe."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self.configure(config or FaultConfig())

    def configure(self, config: FaultConfig) -> None:
        """Replace the configuration; requests hanging under the old one are released."""
        with self._lock:
            self._config = config
            self._remaining = {kind: getattr(config, _NEXT_FIELD[kind]) for kind in FAULT_KINDS}
            self._rng = random.Random(config.seed)
            self._wake.set()
            self._wake = threading.Event()

    def clear(self) -> None:
        self.configure(FaultConfig())

    def release_hangs(self) -> None:
        """Let every hanging request finish now (used when the server stops)."""
        with self._lock:
            self._wake.set()
            self._wake = threading.Event()

    def snapshot(self) -> dict[str, Any]:
        """The configuration and what is left of each "next N" count."""
        with self._lock:
            return {"config": self._config.to_dict(), "remaining": dict(self._remaining)}

    def decide(self, token: ExportToken | None) -> FaultDecision:
        """The faults for one export request (`token` None when it could not be parsed)."""
        with self._lock:
            config = self._config
            in_scope = _in_scope(config, token)
            kind = None
            if in_scope:
                kind = next((k for k in FAULT_KINDS if self._remaining[k] > 0), None)
                if kind is not None:
                    self._remaining[kind] -= 1
                else:
                    kind = next(
                        (
                            k
                            for k in FAULT_KINDS
                            if getattr(config, _RATE_FIELD[k]) > 0
                            and self._rng.random() < getattr(config, _RATE_FIELD[k])
                        ),
                        None,
                    )
            wake = self._wake
        district = canonical_district_id(token.district_id) if token and token.district_id else None
        return FaultDecision(
            kind=kind,
            latency=config.latency_ms / 1000,
            hang_seconds=config.hang_seconds,
            retry_after=config.retry_after,
            error_status=config.error_status,
            truncate_mode=config.truncate_mode,
            redirect_location=config.redirect_location,
            drip_bytes_per_second=config.drip_bytes_per_second,
            no_data=bool(in_scope and token and token.as_of in config.no_data_dates),
            unknown_district=district is not None
            and district in {canonical_district_id(d) for d in config.unknown_districts},
            failing_district=district is not None
            and district in {canonical_district_id(d) for d in config.failing_districts},
            wake=wake,
        )


def _in_scope(config: FaultConfig, token: ExportToken | None) -> bool:
    if not config.districts and not config.reports:
        return True
    if token is None:
        return False
    if config.reports and token.report.value not in {r.lower() for r in config.reports}:
        return False
    if config.districts:
        if token.district_id is None:
            return False
        wanted = {canonical_district_id(d) for d in config.districts}
        return canonical_district_id(token.district_id) in wanted
    return True
