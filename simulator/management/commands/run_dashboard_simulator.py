from datetime import date

from django.core.management.base import BaseCommand, CommandError

from backfill_project.command_options import PORT_OR_FREE, SEED, iso_date, one_value_options
from districts.dashboard.urls import EARLIEST_DATE
from simulator import FaultConfig, SimulatorServer

# The simulator's calendar (next months, program years) stays well inside `date`.
LATEST_TODAY = date(2100, 12, 31)


class Command(BaseCommand):
    help = (
        "Serve the simulated Toastmasters dashboard over HTTP (DESIGN.md section 7). "
        "Faults: --fault KEY=VALUE, repeatable (e.g. error_rate=0.1, fail_next=3, "
        "rate_limit_next=2, retry_after=5, latency_ms=200, hang_next=1, malformed_rate=0.05, "
        "drip_next=1, drip_bytes_per_second=200, redirect_next=1, "
        "redirect_location=https://elsewhere.example/, "
        "no_data_dates=2025-01-04,2025-01-05, unknown_districts=42, failing_districts=U); "
        "change them at run time with POST /_simulator/faults."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        one_value_options(parser)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument(
            "--port", type=PORT_OR_FREE, default=8765, help="0 to 65535; 0 picks a free port"
        )
        parser.add_argument("--seed", type=SEED, default=0, help="data seed (default 0)")
        parser.add_argument(
            "--today",
            type=iso_date(minimum=EARLIEST_DATE, maximum=LATEST_TODAY),
            default=None,
            help=f"YYYY-MM-DD from {EARLIEST_DATE} to {LATEST_TODAY} (default: now)",
        )
        parser.add_argument("--fault", action="append", default=[], metavar="KEY=VALUE")
        parser.add_argument("--verbose", action="store_true", help="print an access log")

    def handle(self, *args, host, port, seed, today, fault, verbose, **options):
        try:
            faults = FaultConfig.from_assignments(fault)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        try:
            server = SimulatorServer(
                host=host, port=port, seed=seed, today=today, faults=faults, verbose=verbose
            )
        except OSError as exc:
            raise CommandError(f"cannot listen on {host}:{port}: {exc}") from exc
        # The first line is read by tests and scripts that start the simulator on port 0.
        self.stdout.write(f"Dashboard simulator listening on {server.base_url}")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
