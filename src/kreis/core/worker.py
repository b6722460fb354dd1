"""The job worker's heartbeat, and how the web app tells whether a worker is alive.

Every Huey consumer started by ``kreis worker`` (or embedded in ``kreis serve``) writes a row
of :class:`~kreis.core.models.WorkerHeartbeat` every ``KREIS_WORKER_HEARTBEAT`` seconds from a
small thread of its own, so a worker busy with a long job still beats. A worker whose last
beat is older than ``KREIS_WORKER_TIMEOUT`` seconds is dead: ``/healthz`` fails, the
dashboard says so, and work it had started can be given up (``worker_alive_since``).
The heartbeat lives in the operational database, so it works alike for the SQLite and the
Redis queue and for workers on other machines.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from kreis.core.models import WorkerHeartbeat

# The heartbeat row of the worker running in this process (None outside a worker).
CURRENT_WORKER: str | None = None


def timeout() -> timedelta:
    return timedelta(seconds=settings.KREIS_WORKER_TIMEOUT)


def jobs_run_immediately() -> bool:
    """In tests (HUEY immediate) jobs run in the calling process: no worker needed."""
    from huey.contrib.djhuey import HUEY

    return bool(HUEY.immediate)


@dataclass(frozen=True)
class WorkerStatus:
    alive: bool
    last_beat: datetime | None  # the most recent heartbeat of any worker
    workers: int  # workers alive now


def worker_status(*, now: datetime | None = None) -> WorkerStatus:
    """Whether a job worker is alive, and when one was last heard of."""
    now = now or timezone.now()
    last = WorkerHeartbeat.objects.order_by("-beat_at").first()  # stopped ones too
    alive = WorkerHeartbeat.objects.filter(stopped_at=None, beat_at__gte=now - timeout()).count()
    return WorkerStatus(alive=alive > 0, last_beat=last.beat_at if last else None, workers=alive)


def worker_alive_since(moment: datetime, *, now: datetime | None = None) -> bool:
    """True when a worker that was already running at ``moment`` is still alive: work it
    took at that moment may still be going on. False when every live worker started later
    (the one that had the work died or was restarted) or no worker is alive at all."""
    now = now or timezone.now()
    return WorkerHeartbeat.objects.filter(
        stopped_at=None, beat_at__gte=now - timeout(), started_at__lte=moment
    ).exists()


def worker_beat(*, name: str, embedded: bool, started_at: datetime) -> None:
    """Record that the worker ``name`` is alive now."""
    WorkerHeartbeat.objects.update_or_create(
        name=name,
        defaults={
            "hostname": socket.gethostname()[:150],
            "pid": os.getpid(),
            "embedded": embedded,
            "started_at": started_at,
            "beat_at": timezone.now(),
            "stopped_at": None,
        },
    )


def worker_stopped(*, name: str) -> None:
    """Record a clean stop, so the worker is not mistaken for one that died."""
    WorkerHeartbeat.objects.filter(name=name).update(stopped_at=timezone.now())
    # Rows of workers long gone are of no use to anyone.
    WorkerHeartbeat.objects.filter(beat_at__lt=timezone.now() - timedelta(days=7)).delete()


class Heartbeat(threading.Thread):
    """Beats every ``interval`` seconds until stopped. With ``parent_pid`` (the embedded
    worker of ``kreis serve``) it also stops the worker when that parent has gone, so a
    killed server never leaves an orphaned worker behind."""

    def __init__(self, *, embedded: bool = False, parent_pid: int | None = None) -> None:
        super().__init__(name="kreis-heartbeat", daemon=True)
        global CURRENT_WORKER
        self.started_at = timezone.now()
        self.worker_name = f"{socket.gethostname()}:{os.getpid()}:{self.started_at:%Y%m%dT%H%M%S}"
        self.embedded = embedded
        self.parent_pid = parent_pid
        self.interval = settings.KREIS_WORKER_HEARTBEAT
        self.stopping = threading.Event()
        CURRENT_WORKER = self.worker_name

    def beat(self) -> None:
        worker_beat(name=self.worker_name, embedded=self.embedded, started_at=self.started_at)

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            if self.parent_pid is not None and os.getppid() != self.parent_pid:
                os.kill(os.getpid(), signal.SIGTERM)  # the consumer's "stop now"
                return
            close_old_connections()
            try:
                self.beat()
            except Exception:  # noqa: BLE001 (a database hiccup must not end the heartbeat)
                logging.getLogger("kreis.worker").exception("heartbeat failed")
            finally:
                connection.close()  # this thread's own connection, never left open idle

    def stop(self) -> None:
        self.stopping.set()
        worker_stopped(name=self.worker_name)
