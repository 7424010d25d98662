"""`make demo`: the whole flow on one machine, against the dashboard simulator.

Collects the static files, creates an admin user (credentials printed), starts the simulator, a
Celery worker, beat and the web server as child processes, runs a real backfill (one week, three
districts, full detail) through the job queue with a live progress bar, prints the normalized
totals per date from the snapshot store, then keeps the admin up until Ctrl-C (with
`DEMO_EXIT=1`, or `--exit`, it stops everything after the summary instead, as CI does).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack, closing
from datetime import date, timedelta

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from backfill.models import RateLimitConfig
from backfill_project.celery import beat_argv, worker_argv
from backfill_project.command_options import PORT, one_value_options
from snapshots import store

DISTRICTS = ["42", "61", "F"]
START = date(2026, 3, 9)  # a week clear of February's closing period (closes 2026-03-05)
DAYS = 7


def _free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Command(BaseCommand):
    help = (
        "Run the demo: simulator, worker, beat and web server, a one-week, three-district "
        "backfill, then the admin until Ctrl-C (DEMO_EXIT=1 or --exit: stop after the summary)."
    )

    def add_arguments(self, parser):
        one_value_options(parser)
        parser.add_argument("--port", type=PORT, help="Simulator port (default: a free one)")
        parser.add_argument("--web-port", type=PORT, default=8000, help="Admin port (8000)")
        parser.add_argument(
            "--exit", action="store_true", help="Stop after the summary (as DEMO_EXIT=1 does)"
        )

    def handle(self, *args, port=None, web_port=8000, exit=False, **options):
        exit = exit or os.environ.get("DEMO_EXIT", "") not in ("", "0")
        call_command("collectstatic", interactive=False, verbosity=0)
        username, password = self._admin_user()
        port = port or _free_port()
        base_url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "DASHBOARD_BASE_URL": base_url, "PYTHONUNBUFFERED": "1"}
        settings.DASHBOARD_BASE_URL = base_url
        log_dir = settings.VAR_DIR / "demo"
        log_dir.mkdir(parents=True, exist_ok=True)
        with ExitStack() as stack:
            self.stdout.write(f"Starting the dashboard simulator on {base_url}")
            stack.enter_context(
                self._child(
                    [sys.executable, "manage.py", "run_dashboard_simulator", "--port", str(port)],
                    env,
                    log_dir / "simulator.log",
                )
            )
            self._wait_for(f"{base_url}/_simulator/requests")
            self.stdout.write("Starting a Celery worker (log: var/demo/worker.log)")
            stack.enter_context(
                self._child(
                    worker_argv(queue=settings.CELERY_TASK_DEFAULT_QUEUE, concurrency=3),
                    env,
                    log_dir / "worker.log",
                )
            )
            stack.callback(self._restore_limits, self._local_limits())
            web = f"http://127.0.0.1:{web_port}"
            if not exit:
                self.stdout.write(f"Starting beat and the web server on {web} (logs: var/demo/)")
                stack.enter_context(self._child(beat_argv(), env, log_dir / "beat.log"))
                stack.enter_context(
                    self._child(
                        [
                            sys.executable,
                            "manage.py",
                            "runserver",
                            f"127.0.0.1:{web_port}",
                            "--noreload",
                        ],
                        {**env, "DEBUG": "0"},
                        log_dir / "web.log",
                    )
                )
            end = START + timedelta(days=DAYS - 1)
            self.stdout.write(
                f"Backfilling {START}..{end} for districts {', '.join(DISTRICTS)} (full detail)"
            )
            try:
                call_command(
                    "backfill",
                    start=START.isoformat(),
                    end=end.isoformat(),
                    districts=DISTRICTS,
                    collection_type="per-district",
                    no_skip_existing=True,
                    wait=True,
                    stdout=self.stdout,
                )
            except SystemExit as exc:
                self.stdout.write(f"backfill ended with exit code {exc.code}")
            self._print_totals(START, end)
            requests_seen = requests.get(f"{base_url}/_simulator/requests", timeout=5).json()
            count = len(requests_seen.get("requests", requests_seen))
            self.stdout.write(f"The simulator served {count} requests.")
            if exit:
                return
            self._wait_for(f"{web}/admin/login/")
            self.stdout.write("")
            self.stdout.write(
                f"The admin is up: {web}/admin/  (user {username}, password {password})"
            )
            self.stdout.write(
                "Click Backfill > New backfill to start a job, or open the finished job from the "
                "panel on the admin's front page. Ctrl-C stops everything."
            )
            try:
                signal.pause()
            except KeyboardInterrupt:
                self.stdout.write("Stopping the demo.")

    def _admin_user(self) -> tuple[str, str]:
        """The demo's superuser, with a fresh password each run (printed once the admin is up)."""
        username, password = "admin", secrets.token_urlsafe(9)
        user, _ = get_user_model().objects.get_or_create(
            username=username, defaults={"email": "admin@example.com"}
        )
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(password)
        user.save()
        return username, password

    def _local_limits(self) -> dict:
        """The simulator is local: allow 20 requests per second instead of the polite default
        for the real site. Restored when the demo ends."""
        config = RateLimitConfig.load()
        saved = {f: getattr(config, f) for f in ("max_requests", "window_ms", "min_delay_ms")}
        config.max_requests, config.window_ms, config.min_delay_ms = 20, 1_000, 0
        config.save()
        return saved

    def _restore_limits(self, saved: dict) -> None:
        RateLimitConfig.objects.filter(pk=RateLimitConfig.load().pk).update(**saved)

    def _child(self, argv, env, log_path):
        log = log_path.open("w")
        process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        stack = ExitStack()

        def stop():
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()

        stack.callback(stop)
        return stack

    def _wait_for(self, url: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                requests.get(url, timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.2)
        raise RuntimeError(f"{url} did not answer within {timeout}s")

    def _print_totals(self, start: date, end: date) -> None:
        self.stdout.write("")
        self.stdout.write(
            f"{'date':<11} {'district':>8} {'as of':<11} {'clubs':>6} {'members':>8} "
            f"{'payments':>9} {'distinguished':>13}"
        )
        day = start
        while day <= end:
            for district_id in DISTRICTS:
                stats = store.read_district(logical_date=day, district_id=district_id)
                if stats is None:
                    self.stdout.write(f"{day!s:<11} {district_id:>8} (no data)")
                    continue
                self.stdout.write(
                    f"{day!s:<11} {district_id:>8} {stats.as_of_date!s:<11} "
                    f"{stats.clubs.total or 0:>6} {stats.membership.active_members or 0:>8} "
                    f"{stats.payments.total_ytd or 0:>9} {stats.clubs.total_distinguished or 0:>13}"
                )
            day += timedelta(days=1)
