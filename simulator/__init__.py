"""The dashboard simulator (DESIGN.md section 7): deterministic data in the dashboard's exact
CSV formats, served over HTTP the way the real site answers, with faults on demand.

- `SimulatedDashboard`: the data (`export(...)`, `districts_for(...)`), no clock, no faults.
- `render_export`: a `ParsedExport` as the published bytes.
- `DashboardSite`: URL -> answer for a given today (live and unpublished years, empty slots).
- `SimulatorServer`: the threaded HTTP server with the request log and `FaultConfig` faults.
"""

from .exports import SimulatedDashboard, report_header
from .faults import FAULT_KINDS, FaultConfig, FaultInjector
from .periods import ClosingCalendar, ProgramYear
from .rendering import render_export, render_footer
from .server import RequestLog, SimulatorServer
from .site import DashboardSite, ExportToken, SiteResponse, parse_token

__all__ = [
    "FAULT_KINDS",
    "ClosingCalendar",
    "DashboardSite",
    "ExportToken",
    "FaultConfig",
    "FaultInjector",
    "ProgramYear",
    "RequestLog",
    "SimulatedDashboard",
    "SimulatorServer",
    "SiteResponse",
    "parse_token",
    "render_export",
    "render_footer",
    "report_header",
]
