"""``kreis serve``: gunicorn, and beside it the embedded job worker (see kreis.core.worker).

With ``KREIS_EMBEDDED_WORKER`` on (the default with the SQLite queue) this process only
supervises two children: the web server (gunicorn, forked from here so it keeps everything
loaded) and one ``kreis worker --embedded`` consumer. One worker, not one per gunicorn worker:
the queue's periodic jobs must be scheduled once. Ctrl-C or SIGTERM stops both: gunicorn
gracefully, the worker gracefully (it finishes the job in hand) and, after a grace period,
at once. A worker that dies is started again; a web server that stops ends the whole.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from kreis.core.staticfiles import ensure_static_files

GRACE_SECONDS = 15  # for a graceful stop, before the worker is stopped at once
KILL_SECONDS = 5  # after that, before anything still running is killed


def default_workers() -> int:
    """$WEB_CONCURRENCY, else one gthread worker per core (at least 2: one can restart
    while the other serves). Measured with benchmarks/load.py: see its README section."""
    return int(os.environ.get("WEB_CONCURRENCY") or max(2, os.cpu_count() or 1))


def default_threads() -> int:
    return int(os.environ.get("KREIS_THREADS") or 4)


def keepalive_seconds() -> int:
    """How long an idle keep-alive connection stays open. Longer than any client or reverse
    proxy keeps one idle (nginx's upstream keepalive_timeout defaults to 60 s), so the client
    always closes first: a request is never sent on a connection the server is closing just
    then, which a client cannot safely retry for a POST or PATCH."""
    return int(os.environ.get("KREIS_KEEPALIVE") or 75)


class Command(BaseCommand):
    help = "Serve Kreis through gunicorn (production WSGI server) with WhiteNoise static files."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=None, help="default: $HOST or 127.0.0.1")
        parser.add_argument("--port", type=int, default=None, help="default: $PORT or 8000")
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="worker processes (default: $WEB_CONCURRENCY, else one per core, at least 2)",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=None,
            help="threads per worker (default: $KREIS_THREADS or 4)",
        )
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="no embedded job worker (as KREIS_EMBEDDED_WORKER=0: a `kreis worker` runs)",
        )

    def handle(self, *args, host, port, workers, threads, no_worker, **opts):
        host = host or os.environ.get("HOST", "127.0.0.1")
        port = port or int(os.environ.get("PORT", "8000"))
        workers = workers or default_workers()
        threads = threads or default_threads()
        try:
            collected = ensure_static_files()
        except Exception as exc:  # noqa: BLE001 (one clear line instead of a 500 on every page)
            raise CommandError(
                f"static files could not be collected into {settings.STATIC_ROOT}: {exc}; "
                "run `kreis collectstatic` and start again"
            ) from None
        if collected:
            self.stdout.write(f"collected {collected} static files into {settings.STATIC_ROOT}")
        embedded = (
            settings.KREIS_EMBEDDED_WORKER and not no_worker and not settings.HUEY.get("immediate")
        )
        self.stdout.write(
            f"Kreis is serving at http://{host}:{port}/  (data: {settings.DATA_DIR})"
            + (", with a job worker" if embedded else "")
        )
        self.stdout.flush()
        if not embedded:
            _serve_web(host=host, port=port, workers=workers, threads=threads)
            return
        code = Supervisor(
            web=lambda: _serve_web(host=host, port=port, workers=workers, threads=threads),
            worker_argv=[sys.executable, "-m", "kreis.cli", "worker", "--embedded"],
            log=self.stderr.write,
        ).run()
        if code:
            sys.exit(code)


def _serve_web(*, host: str, port: int, workers: int, threads: int) -> None:
    from gunicorn.app.base import BaseApplication

    from kreis.core.warmup import freeze_for_workers, gunicorn_hooks
    from kreis.wsgi import application

    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": 60,
        "keepalive": keepalive_seconds(),
        "graceful_timeout": GRACE_SECONDS - 5,
        "accesslog": None,  # Kreis logs each request itself, as JSON
        "forwarded_allow_ips": os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        **gunicorn_hooks(),  # each request's garbage is collected after its response
    }

    class Server(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                self.cfg.set(key, value)
            if "control_socket_disable" in self.cfg.settings:
                # gunicorn >= 25.1 opens one control socket per user ($HOME/.gunicorn): two
                # servers on one machine would take it from each other. Kreis is run by
                # signals (HUP reloads, TERM/INT stop), so it needs none.
                self.cfg.set("control_socket_disable", True)

        def load(self):
            return application

    # Load what each worker would load on its first requests, and keep everything that lives
    # as long as the process out of the garbage collector's sweeps (see kreis.core.warmup).
    freeze_for_workers()
    Server().run()


def _die_with_parent() -> None:
    """Linux: the kernel sends SIGTERM to this process when its parent dies (best effort)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    except OSError:
        pass


class Supervisor:
    """Runs the web server (forked) and the job worker (a subprocess in its own process
    group, so a Ctrl-C reaches it once, through here) and stops both together."""

    def __init__(self, *, web, worker_argv: list[str], log) -> None:
        self.web = web
        self.worker_argv = worker_argv
        self.log = log
        self.stop_requested = False
        self.web_pid = 0
        self.worker: subprocess.Popen | None = None

    def _request_stop(self, signum, frame) -> None:
        self.stop_requested = True

    def _reload(self, signum, frame) -> None:
        """SIGHUP: gunicorn starts new workers and lets the old ones finish the requests in
        hand (a graceful restart). The job worker keeps running: it is not restarted."""
        if self.web_pid:
            _signal_pid(self.web_pid, signal.SIGHUP)

    def _fork_web(self) -> int:
        connections.close_all()  # never share a database connection with a child
        pid = os.fork()
        if pid:
            return pid
        code = 1
        try:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGHUP, signal.SIG_DFL)  # gunicorn sets its own
            _die_with_parent()
            self.web()
            code = 0
        except SystemExit as exc:  # gunicorn's master ends with sys.exit
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:  # noqa: BLE001
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)

    def _start_worker(self) -> subprocess.Popen:
        return subprocess.Popen(self.worker_argv, start_new_session=True)  # noqa: S603

    def run(self) -> int:
        signal.signal(signal.SIGINT, self._request_stop)
        signal.signal(signal.SIGTERM, self._request_stop)
        # Before the fork, so a HUP can never end this process (its default action) and,
        # through the death signal, the server with it.
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        self.web_pid = self._fork_web()
        signal.signal(signal.SIGHUP, self._reload)
        self.worker = self._start_worker()
        worker_started, backoff, restart_at = time.monotonic(), 1.0, None
        web_code = None
        while not self.stop_requested:
            pid, status = os.waitpid(self.web_pid, os.WNOHANG)
            if pid:
                web_code = os.waitstatus_to_exitcode(status)
                break
            if restart_at is None and self.worker.poll() is not None:
                if time.monotonic() - worker_started > 60:
                    backoff = 1.0
                self.log(
                    f"kreis: the job worker stopped (exit {self.worker.returncode}); "
                    f"starting it again in {backoff:.0f} s"
                )
                restart_at, backoff = time.monotonic() + backoff, min(backoff * 2, 60.0)
            if restart_at is not None and time.monotonic() >= restart_at:
                self.worker, worker_started, restart_at = (
                    self._start_worker(),
                    time.monotonic(),
                    None,
                )
            time.sleep(0.2)
        self._stop_all(web_running=web_code is None)
        return web_code or 0

    def _stop_all(self, *, web_running: bool) -> None:
        """Graceful first (gunicorn: SIGTERM, Huey: SIGINT), at once after GRACE_SECONDS."""
        if web_running:
            _signal_pid(self.web_pid, signal.SIGTERM)
        if self.worker and self.worker.poll() is None:
            self.worker.send_signal(signal.SIGINT)
        deadline = time.monotonic() + GRACE_SECONDS
        escalated = False
        while True:
            web_alive = web_running and os.waitpid(self.web_pid, os.WNOHANG)[0] == 0
            worker_alive = bool(self.worker and self.worker.poll() is None)
            web_running = web_alive
            if not web_alive and not worker_alive:
                return
            if time.monotonic() >= deadline:
                if escalated:
                    if web_alive:
                        _signal_pid(self.web_pid, signal.SIGKILL)
                    if worker_alive:
                        self.worker.kill()
                    return
                if worker_alive:
                    self.worker.send_signal(signal.SIGTERM)  # Huey: stop now
                if web_alive:
                    _signal_pid(self.web_pid, signal.SIGINT)  # gunicorn: quick shutdown
                escalated, deadline = True, time.monotonic() + KILL_SECONDS
            time.sleep(0.1)


def _signal_pid(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
