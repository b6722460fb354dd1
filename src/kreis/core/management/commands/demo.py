import io
import json
import sys

from django.apps import apps
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from kreis.core.demo import SIZES, create_demo, demo_logins
from kreis.core.models import User


class Command(BaseCommand):
    help = "Create demo data (users in every role, teams, …) and print the demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=list(SIZES), default="small")
        parser.add_argument("--seed", type=int, help="make the generated names repeatable")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="only when the database has no users; else just print the demo logins",
        )
        parser.add_argument(
            "--no-analytics",
            action="store_true",
            help="skip the analytics run at the end (the figures appear after the next run)",
        )

    def handle(self, *args, size, seed, if_empty, no_analytics=False, **opts):
        if if_empty and User.objects.exists():
            logins = demo_logins()
            if logins:
                self._print_logins(logins)
            return
        try:
            result = create_demo(size=size, seed=seed, progress=self._progress)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            # After a million inserts: mark pages all-visible, so counts and deep pages are
            # index-only scans (VACUUM cannot run inside the demo's transaction).
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
        made = ", ".join(f"{n} {what}" for what, n in result.extra.items())
        self.stdout.write(
            f"created {result.users} users in {result.teams} teams" + (f", {made}" if made else "")
        )
        if not no_analytics and apps.is_installed("kreis.analytics"):
            self._run_analytics()
        self._print_logins(demo_logins() or "")

    def _run_analytics(self) -> None:
        """Compute every customer figure now (as the nightly job would), so the first screens
        show ABC classes, RFM segments, CLV and phases instead of an empty warehouse."""
        self.stdout.write("computing the customer figures (kreis analytics run):")
        try:
            call_command("analytics", "run", stdout=io.StringIO(), stderr=self.stderr)
        except Exception as exc:  # noqa: BLE001 (the demo data stays; say why, in one line)
            self.stderr.write(
                f"kreis: the analytics run failed ({exc}); "
                "the figures appear after the next run (Analytics → Run analytics now)"
            )
            return
        fit = io.StringIO()
        try:
            call_command("analytics", "clv", stdout=fit)
        except CommandError as exc:  # too few customers for a fit
            self.stdout.write(f"no CLV model: {exc}")
            return
        payload = json.loads(fit.getvalue())
        bgnbd, spend = payload["bgnbd"], payload.get("gamma_gamma") or {}
        unit = payload["calibration"]["time_unit"]
        line = (
            f"CLV model fitted on {bgnbd['customers']} customers ({unit}): "
            f"BG/NBD r={bgnbd['r']:.3g} α={bgnbd['alpha']:.3g} a={bgnbd['a']:.3g} "
            f"b={bgnbd['b']:.3g}"
        )
        if spend.get("p") is not None:
            line += f"; Gamma-Gamma p={spend['p']:.3g} q={spend['q']:.3g} γ={spend['gamma']:.3g}"
        else:
            line += "; Gamma-Gamma not usable this run (no CLV in money)"
        self.stdout.write(line)

    def _progress(self, what: str, done: int, total: int) -> None:
        if total <= 0:  # an open-ended step: a running count
            if sys.stderr.isatty():
                sys.stderr.write(f"\r  {what:<12} {done}")
            return
        if sys.stderr.isatty() and (done == total or done % max(1, total // 100) == 0):
            width = 30
            filled = width * done // total
            sys.stderr.write(
                f"\r  {what:<12} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
            )
            if done == total:
                sys.stderr.write("\n")

    def _print_logins(self, logins: str) -> None:
        self.stdout.write("Demo logins (username, password):")
        self.stdout.write(logins.rstrip())
