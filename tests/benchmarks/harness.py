"""Processes the benchmarks start: the simulator and a Celery worker, on a private queue."""

from __future__ import annotations

import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import closing, contextmanager
from pathlib import Path

import requests
from django.conf import settings
from django.test import override_settings

from backfill_project.celery import worker_argv

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(url: str, process: subprocess.Popen, log_path: Path | None = None) -> None:
    """Wait (30 s at most) until `process` answers `url`; its log's tail if it never does."""
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(url, timeout=5)
            return
        except (requests.ConnectionError, requests.Timeout):
            if time.monotonic() > deadline or process.poll() is not None:
                tail = log_path.read_text()[-2000:] if log_path else f"{url} never answered"
                raise RuntimeError(tail) from None
            time.sleep(0.1)


@contextmanager
def simulator_process():
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_dashboard_simulator", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_serving(f"{base_url}/_simulator/requests", process)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def bench_environment(base_url: str, store_root: Path | None = None):
    """A private snapshot root (`store_root`, else a temporary directory) and queue, shared
    with the worker through the environment."""
    with _root(store_root) as root:
        queue = f"bench-{uuid.uuid4().hex[:8]}"
        storages = {
            **settings.STORAGES,
            "snapshots": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": root},
            },
        }
        env = {
            **os.environ,
            "SNAPSHOT_ROOT": root,
            "CELERY_QUEUE": queue,
            "DASHBOARD_BASE_URL": base_url,
        }
        with override_settings(
            SNAPSHOT_ROOT=Path(root),
            STORAGES=storages,
            CELERY_TASK_DEFAULT_QUEUE=queue,
            DASHBOARD_BASE_URL=base_url,
        ):
            yield env, Path(root)


@contextmanager
def _root(given: Path | None):
    if given is not None:
        yield str(given)
        return
    with tempfile.TemporaryDirectory(prefix="bench-snapshots-") as root:
        yield root


def peak_rss_mib() -> float:
    """This process's peak resident set so far, in MiB."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


@contextmanager
def worker_process(env: dict[str, str], concurrency: int = 1, hostname: str | None = None):
    """A Celery worker with `concurrency` pool processes; `hostname` (`-n`, e.g. `node1@%h`)
    names its node, so that several workers run as several hosts would. Its log is removed
    once it has stopped, unless the bench failed meanwhile (then its path is printed)."""
    log_path = Path(tempfile.mkdtemp(prefix="bench-worker-")) / "worker.log"
    log = log_path.open("w")
    argv = worker_argv(queue=env["CELERY_QUEUE"], concurrency=concurrency)
    if hostname:
        argv += ["-n", hostname]
    process = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    failed = True
    try:
        deadline = time.monotonic() + 30
        while "ready." not in log_path.read_text():
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(log_path.read_text()[-2000:])
            time.sleep(0.1)
        yield process
        failed = False
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            # A warm shutdown stuck (seen on a loaded machine while a message was being
            # restored to the queue): the measurement is taken, the worker is not needed.
            process.kill()
            process.wait(timeout=30)
        log.close()
        if failed:
            print(f"worker log kept: {log_path}", file=sys.stderr)
        else:
            shutil.rmtree(log_path.parent, ignore_errors=True)
