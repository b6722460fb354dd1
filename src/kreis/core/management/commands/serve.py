from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve Kreis through gunicorn (production WSGI server) with WhiteNoise static files."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=None, help="default: $HOST or 127.0.0.1")
        parser.add_argument("--port", type=int, default=None, help="default: $PORT or 8000")
        parser.add_argument(
            "--workers", type=int, default=None, help="default: $WEB_CONCURRENCY or 2"
        )

    def handle(self, *args, host, port, workers, **opts):
        import gc
        import os

        from gunicorn.app.base import BaseApplication

        from kreis.wsgi import application

        host = host or os.environ.get("HOST", "127.0.0.1")
        port = port or int(os.environ.get("PORT", "8000"))
        workers = workers or int(os.environ.get("WEB_CONCURRENCY", "2"))
        options = {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": 4,
            "worker_class": "gthread",
            "timeout": 60,
            "accesslog": None,  # Kreis logs each request itself, as JSON
            "forwarded_allow_ips": os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        }

        class Server(BaseApplication):
            def load_config(self):
                for key, value in options.items():
                    self.cfg.set(key, value)

            def load(self):
                return application

        self.stdout.write(f"Kreis is serving at http://{host}:{port}/  (data: {settings.DATA_DIR})")
        # Everything loaded so far (Django, the app, templates) lives as long as the process:
        # keep it out of the garbage collector's full sweeps, which otherwise stall every
        # tenth request or so by tens of milliseconds (and the forked workers share it).
        gc.freeze()
        Server().run()
