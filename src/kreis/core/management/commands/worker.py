"""``kreis worker``: the Huey consumer with a heartbeat (see kreis.core.worker)."""

from __future__ import annotations

import os

from huey.contrib.djhuey.management.commands.run_huey import Command as RunHuey

from kreis.core.worker import Heartbeat

EMBEDDED_NICENESS = 10


class Command(RunHuey):
    help = "Run the background job worker (Huey consumer) and report its heartbeat."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--embedded",
            action="store_true",
            help="started by kreis serve: stop when the server process has gone",
        )

    def handle(self, *args, embedded: bool = False, **options):
        if embedded:
            # Beside the web server on the same cores: visitors' requests go first, the jobs
            # take the rest (a burst of web forms is taken at once and processed after).
            os.nice(EMBEDDED_NICENESS)
        heartbeat = Heartbeat(embedded=embedded, parent_pid=os.getppid() if embedded else None)
        heartbeat.beat()  # alive from the first moment, not only after one interval
        heartbeat.start()
        try:
            super().handle(*args, **options)
        finally:
            heartbeat.stop()
