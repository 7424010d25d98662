"""backfill_project/gunicorn_conf.py: a gunicorn worker that exits is marked dead in
prometheus-client's multiprocess directory (its live gauges stop counting)."""

from types import SimpleNamespace

from backfill_project import gunicorn_conf


def test_an_exiting_worker_is_marked_dead(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    live, other = tmp_path / "gauge_livesum_4242.db", tmp_path / "gauge_livesum_4343.db"
    live.write_bytes(b"")
    other.write_bytes(b"")
    gunicorn_conf.child_exit(server=None, worker=SimpleNamespace(pid=4242))
    assert not live.exists() and other.exists()


def test_without_the_directory_nothing_is_touched(tmp_path, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    gunicorn_conf.child_exit(server=None, worker=SimpleNamespace(pid=4242))
    assert gunicorn_conf.workers >= 1 and gunicorn_conf.bind.endswith(":8000")
