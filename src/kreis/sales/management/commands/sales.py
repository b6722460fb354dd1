"""``kreis sales <topic> <action>``: sales management in bulk from the command line.

- ``kreis sales targets list [--year 2026] [--period-kind quarter]``: the targets with actual,
  weighted pipeline and attainment;
- ``kreis sales targets export [--year 2026] [-o file.csv]``: CSV in the import's columns;
- ``kreis sales targets import file.csv [--dry-run]``: create or update targets, all or nothing;
- ``kreis sales forecast snapshots [--period 2026-Q2] [-o file.csv]``: the forecast history;
- ``kreis sales channels [--period 2026]``: the figures per channel;
- ``kreis sales transparency [--pipeline ID]``: time in stage, conversion and stuck deals.

The commands run as the system (they see everything), through the same services and queries
as the pages and the API.
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from kreis.core.web import DefusingWriter
from kreis.sales.models import ForecastSnapshot, PeriodKind, Pipeline, Target
from kreis.sales.periods import period_containing, period_from_key, period_of


class _Everyone:
    """The system as a viewer: an administrator who is nobody (visibility: everything)."""

    pk = None
    is_authenticated = True
    is_active = True
    is_admin = True
    is_read_only = False
    role = "admin"

    def team_ids(self) -> set[int]:
        return set()

    def managed_team_ids(self) -> set[int]:
        return set()


class Command(BaseCommand):
    help = "Sales management in bulk: targets (list, import, export), forecast, channels, flow."

    def add_arguments(self, parser) -> None:
        topics = parser.add_subparsers(dest="topic", required=True)
        targets = topics.add_parser("targets", help="Targets and quotas")
        actions = targets.add_subparsers(dest="action", required=True)
        listing = actions.add_parser("list", help="Targets with their attainment")
        listing.add_argument("--year", type=int, default=None)
        listing.add_argument("--period-kind", choices=PeriodKind.values, default=None)
        export = actions.add_parser("export", help="Targets as CSV")
        export.add_argument("--year", type=int, default=None)
        export.add_argument("-o", "--output", default="-")
        imp = actions.add_parser("import", help="Create or update targets from CSV")
        imp.add_argument("file")
        imp.add_argument("--dry-run", action="store_true", help="Check only; save nothing")
        forecast = topics.add_parser("forecast", help="Forecast snapshots")
        forecast_actions = forecast.add_subparsers(dest="action", required=True)
        snaps = forecast_actions.add_parser("snapshots", help="The forecast history as CSV")
        snaps.add_argument("--period", default=None, help="2026, 2026-Q2 or 2026-03")
        snaps.add_argument("-o", "--output", default="-")
        channels = topics.add_parser("channels", help="Figures per sales channel")
        channels.add_argument("--period", default=None)
        flow = topics.add_parser("transparency", help="Time in stage, conversion, stuck deals")
        flow.add_argument("--pipeline", type=int, default=None)

    def handle(self, *args, **options) -> None:
        topic, action = options["topic"], options.get("action")
        if topic == "targets":
            {"list": self._list, "export": self._export, "import": self._import}[action](options)
        elif topic == "forecast":
            self._snapshots(options)
        elif topic == "channels":
            self._channels(options)
        else:
            self._transparency(options)

    def _period(self, key: str | None, kind: str):
        try:
            return period_from_key(key) if key else period_containing(timezone.localdate(), kind)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None

    def _targets(self, options):
        qs = Target.objects.select_related("user", "team").order_by(
            "period_start", "period_kind", "dimension", "pk"
        )
        if options.get("year"):
            qs = qs.filter(period_start__year=options["year"])
        if options.get("period_kind"):
            qs = qs.filter(period_kind=options["period_kind"])
        return qs

    def _list(self, options) -> None:
        from kreis.sales.targets.queries import attainment

        rows = attainment(self._targets(options))
        for row in rows:
            t = row.target
            percent = "–" if row.percent is None else f"{row.percent} %"
            self.stdout.write(
                f"{t.pk:>6}  {period_of(t).key:<8} {t.metric:<8} {t.dimension:<8} "
                f"{t.subject_label[:30]:<30} target {t.amount:>14} actual {row.actual:>14} "
                f"pipeline {row.weighted:>14} {percent}"
            )
        self.stdout.write(f"{len(rows)} targets")

    def _open(self, output: str):
        if output == "-":
            return sys.stdout, False
        return open(output, "w", newline="", encoding="utf-8"), True  # noqa: SIM115

    def _export(self, options) -> None:
        from kreis.sales.targets.services import targets_to_csv

        stream, close = self._open(options["output"])
        try:
            stream.write(targets_to_csv(self._targets(options)))
        finally:
            if close:
                stream.close()

    def _import(self, options) -> None:
        from kreis.sales.targets.services import targets_import_csv

        path = Path(options["file"])
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from None
        except UnicodeDecodeError:
            raise CommandError(f"{path} is not UTF-8 text.") from None
        try:
            with transaction.atomic():
                counts = targets_import_csv(actor=None, text=text)
                if options["dry_run"]:
                    transaction.set_rollback(True)
        except ValidationError as exc:
            for where, messages in exc.message_dict.items():
                for message in messages:
                    self.stderr.write(f"{where}: {message}")
            raise CommandError("Nothing was imported.") from None
        verb = "would be" if options["dry_run"] else "were"
        self.stdout.write(
            f"{counts['created']} targets {verb} created, {counts['updated']} {verb} updated."
        )

    def _snapshots(self, options) -> None:
        qs = ForecastSnapshot.objects.select_related("user", "team", "created_by").order_by(
            "period_start", "created_at", "pk"
        )
        if options.get("period"):
            period = self._period(options["period"], PeriodKind.QUARTER)
            qs = qs.filter(period_kind=period.kind, period_start=period.start)
        stream, close = self._open(options["output"])
        try:
            writer = DefusingWriter(stream)
            writer.writerow(
                [
                    "period",
                    "kind",
                    "rep",
                    "team",
                    "pipeline",
                    "best_case",
                    "commit",
                    "closed",
                    "forecast",
                    "currency",
                    "note",
                    "by",
                    "at",
                ]  # fmt: skip
            )
            for s in qs.iterator():
                writer.writerow(
                    [period_of(s).key, s.kind, s.user.username if s.user else "", s.team.name,
                     s.pipeline_amount, s.best_case_amount, s.commit_amount, s.closed_amount,
                     s.forecast, s.currency, s.note,
                     s.created_by.username if s.created_by else "", s.created_at.isoformat()]
                )  # fmt: skip
        finally:
            if close:
                stream.close()

    def _channels(self, options) -> None:
        from kreis.sales.channels.queries import channel_figures

        period = self._period(options.get("period"), PeriodKind.YEAR)
        self.stdout.write(f"Channels, {period.key}")
        for r in channel_figures(user=_Everyone(), period=period):
            rate = "–" if r.win_rate is None else f"{r.win_rate} %"
            size = "–" if r.average_deal is None else str(r.average_deal)
            self.stdout.write(
                f"{r.code:<8} revenue {r.revenue:>14}  won {r.won:>5}  lost {r.lost:>5}  "
                f"win rate {rate:>8}  average deal {size}"
            )

    def _transparency(self, options) -> None:
        from kreis.sales.transparency.queries import pipeline_figures

        pipelines = Pipeline.objects.order_by("position", "name")
        if options.get("pipeline"):
            pipelines = pipelines.filter(pk=options["pipeline"])
            if not pipelines.exists():
                raise CommandError("No such pipeline.")
        for pipeline in pipelines:
            self.stdout.write(f"{pipeline.label}")
            for f in pipeline_figures(user=_Everyone(), pipeline=pipeline):
                median = "–" if f.median is None else f"{f.median:.1f} d"
                conv = "–" if f.conversion is None else f"{f.conversion} %"
                self.stdout.write(
                    f"  {f.stage.label[:24]:<24} entered {f.entered:>6}  moved on {conv:>8}  "
                    f"median {median:>9}  stuck {len(f.stuck_ids)}"
                )
