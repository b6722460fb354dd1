"""``kreis analytics run|clv|abc|rfm|phases``: recompute and print the customer analyses."""

from __future__ import annotations

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError

from kreis.analytics.reports import queries
from kreis.analytics.runs import pipeline
from kreis.core.web import DefusingWriter
from kreis.core.worker import Heartbeat, jobs_run_immediately


class Command(BaseCommand):
    help = (
        "Run the analytics (warehouse refresh, ABC, RFM, CLV, lifecycle, scoring) or print results."
    )

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("run", help="Refresh the warehouse and recompute every figure.")
        run.add_argument("--full", action="store_true", help="Rebuild the warehouse first.")
        run.add_argument("--as-of", type=dt.date.fromisoformat, help="Day to compute for.")
        sub.add_parser("clv", help="The fitted BG/NBD and Gamma-Gamma parameters (JSON).")
        for name, text in (
            ("abc", "Customers per ABC class (CSV)."),
            ("rfm", "Customers per RFM segment (CSV)."),
            ("phases", "Customers per lifecycle phase (CSV)."),
        ):
            sub.add_parser(name, help=text)

    def handle(self, *args, action: str, **options) -> None:
        if action == "run":
            bar = _Bar(self.stderr) if options["verbosity"] > 0 else None
            # This process does the work of a job worker: its heartbeat tells the web app
            # that the run is alive (and, should the process die, that it is not).
            heartbeat = None if jobs_run_immediately() else Heartbeat()
            if heartbeat:
                heartbeat.beat()
                heartbeat.start()
            try:
                record = pipeline.run(
                    as_of=options.get("as_of"), full=options["full"], progress=bar
                )
            except Exception as exc:
                raise CommandError(f"analytics run failed: {exc}") from exc
            finally:
                if heartbeat:
                    heartbeat.stop()
            self.stdout.write(
                json.dumps({"run": record.pk, "timings": record.timings, "counts": record.counts})
            )
            return
        if action == "clv":
            fit = queries.latest_fit()
            if fit is None:
                raise CommandError("no CLV model fitted yet: run `kreis analytics run`")
            self.stdout.write(json.dumps(queries.clv_payload(fit), indent=2, default=str))
            return
        rows = {"abc": queries.abc_mix, "rfm": queries.rfm_mix, "phases": queries.phase_mix}[
            action
        ]()
        out = DefusingWriter(self.stdout, lineterminator="\n")
        out.writerow([action.rstrip("s") if action == "phases" else action, "label", "parties"])
        out.writerows(rows)


class _Bar:
    """A progress bar on stderr: [#####-----]  50 % figures."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def __call__(self, label: str, pct: int) -> None:
        filled = pct // 5
        self.stream.write(f"[{'#' * filled}{'-' * (20 - filled)}] {pct:3d} % {label}")
