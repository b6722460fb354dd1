"""The job worker: its heartbeat, the health check and dashboard that read it, and the
worker that ``kreis serve`` runs beside the web server."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone

from kreis.core.models import WorkerHeartbeat
from kreis.core.worker import Heartbeat, worker_alive_since, worker_status
from tests import instances
from tests.conftest import client_for


@pytest.fixture
def queued_jobs():
    """Jobs go to the queue (as in production), not run at once as elsewhere in the tests."""
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = False
    yield
    HUEY.flush()  # what a test queued in its data folder's queue
    HUEY.immediate = True


def _beat(name: str, *, ago: int, started_ago: int = 3600) -> WorkerHeartbeat:
    now = timezone.now()
    return WorkerHeartbeat.objects.create(
        name=name,
        hostname="host",
        pid=1,
        started_at=now - timedelta(seconds=started_ago),
        beat_at=now - timedelta(seconds=ago),
    )


@pytest.mark.django_db
def test_healthz_fails_when_no_worker_has_reported(client, queued_jobs):
    response = client.get("/healthz")
    assert response.status_code == 503
    worker = response.json()["checks"]["worker"]
    assert worker["ok"] is False
    assert "no job worker has reported" in worker["error"]


@pytest.mark.django_db
def test_healthz_passes_with_a_fresh_heartbeat_and_fails_with_a_stale_one(
    client, queued_jobs, settings
):
    beat = _beat("vm:1", ago=5)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["worker"]["detail"].startswith("last heartbeat ")

    beat.beat_at = timezone.now() - timedelta(seconds=settings.KREIS_WORKER_TIMEOUT + 1)
    beat.save()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "no worker alive" in response.json()["checks"]["worker"]["error"]


@pytest.mark.django_db
def test_a_cleanly_stopped_worker_is_not_alive(queued_jobs):
    heartbeat = Heartbeat()
    heartbeat.beat()
    assert worker_status().alive
    heartbeat.stop()
    status = worker_status()
    assert not status.alive
    assert status.last_beat is not None  # still shown: when it was last heard of
    assert WorkerHeartbeat.objects.get().stopped_at is not None


@pytest.mark.django_db
def test_work_started_before_every_live_worker_has_lost_its_worker(queued_jobs):
    started = timezone.now() - timedelta(minutes=10)
    _beat("restarted", ago=2, started_ago=60)  # alive, but started after the work began
    assert not worker_alive_since(started)
    _beat("old", ago=2, started_ago=3600)
    assert worker_alive_since(started)


@pytest.mark.django_db
def test_dashboard_shows_the_workers_last_heartbeat(dana, queued_jobs, settings):
    settings.LANGUAGE_CODE = "en"
    dana.language = "en"
    dana.save()
    page = client_for(dana).get("/").content.decode()
    assert "Job worker" in page
    assert "No job worker has reported yet." in page

    _beat("vm:1", ago=settings.KREIS_WORKER_TIMEOUT + 60)
    page = client_for(dana).get("/").content.decode()
    assert 'data-testid="worker-heartbeat">Last heartbeat' in page
    assert "Failing" in page


# --- kreis serve with its embedded worker, as real processes ----------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _kreis(*args: str, env: dict, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "kreis.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
        **kwargs,
    )


def _wait_for(condition, seconds: float = 90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError("gave up waiting")


def _health(port: int) -> dict | None:
    import json

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as reply:  # noqa: S310
            return json.load(reply)
    except urllib.error.HTTPError as error:
        return json.load(error)
    except OSError:
        return None


@pytest.mark.slow
@pytest.mark.database_independent  # its own SQLite instance
def test_serve_runs_the_job_worker_and_ctrl_c_stops_both(tmp_path, migrated_sqlite):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "KREIS_EMBEDDED_WORKER", "DEBUG"}
    }
    env |= {"KREIS_DATA": str(tmp_path), "KREIS_WORKER_HEARTBEAT": "1", "KREIS_WORKER_TIMEOUT": "5"}
    instances.sqlite_instance(migrated_sqlite, tmp_path)
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "kreis.cli", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    database = tmp_path / "kreis.sqlite3"
    try:
        report = _wait_for(
            lambda: (r := _health(port)) and r["checks"]["worker"]["ok"] and r, seconds=120
        )
        assert report["status"] == "ok"
        assert report["checks"]["worker"]["detail"].startswith("last heartbeat")

        # A job queued by another process (as the web app does) is run by the embedded worker.
        _kreis(
            "shell",
            "-c",
            "from kreis.core.models import User; from kreis.core.tasks import notify_users; "
            "u = User.objects.create(username='ada'); notify_users([u.pk], 'Queued job ran')",
            env=env,
        )

        def notified():
            with sqlite3.connect(database) as db:
                sql = "SELECT count(*) FROM core_notification WHERE title = 'Queued job ran'"
                return db.execute(sql).fetchone()[0]

        assert _wait_for(notified) == 1

        server.send_signal(signal.SIGINT)  # what Ctrl-C sends
        output, _ = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    assert server.returncode == 0, output
    assert "with a job worker" in output
    assert "Consumer exiting" in output
    assert _health(port) is None  # nothing listens any more
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT pid, embedded, stopped_at FROM core_workerheartbeat").fetchall()
    assert len(rows) == 1
    pid, embedded, stopped_at = rows[0]
    assert embedded
    assert stopped_at is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the worker process is gone too


@pytest.mark.django_db
def test_administrators_see_the_workers_in_the_admin(dana):
    dana.is_staff = dana.is_superuser = True  # the Django admin's own gate
    dana.save()
    _beat("vm:4242:20261205T000000", ago=3)
    page = client_for(dana).get("/django-admin/core/workerheartbeat/")
    assert page.status_code == 200
    assert "vm:4242:20261205T000000" in page.content.decode()
