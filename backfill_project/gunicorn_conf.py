"""Gunicorn's settings for the web service (docker-compose.yml, the Dockerfile):
`gunicorn -c python:backfill_project.gunicorn_conf backfill_project.wsgi`.

With PROMETHEUS_MULTIPROC_DIR set, every worker process writes its metrics (django-prometheus's
HTTP and database ones) to files there and `/metrics` adds them all up, whichever process
answers (prometheus-client's multiprocess mode). The directory must start empty (the compose
command clears it) and a worker that exits is marked dead so its gauges stop counting.
"""

import os

from prometheus_client import multiprocess

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))


def child_exit(server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
