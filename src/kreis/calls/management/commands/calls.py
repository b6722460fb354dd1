"""``kreis calls lists|create|export``: call lists in bulk.

``lists`` prints the call lists with their progress, ``create`` builds one from a segment or a
campaign (phone consent checked, as in the web UI), ``export`` writes a list's results as CSV
(formula cells defused) to a file or standard output.
"""

from __future__ import annotations

import json
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from kreis.calls import queries, services
from kreis.calls.models import CallList
from kreis.core.models import Team, User
from kreis.core.web import DefusingWriter
from kreis.marketing.models import Campaign, ConsentPurpose, Segment


class Command(BaseCommand):
    help = "Call lists: list them, build one from a segment or campaign, export results."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        lists = sub.add_parser("lists", help="the call lists with their progress")
        lists.add_argument("--json", action="store_true")
        create = sub.add_parser("create", help="build a call list from a segment or campaign")
        create.add_argument("--name", required=True)
        source = create.add_mutually_exclusive_group(required=True)
        source.add_argument("--segment", type=int, help="segment id")
        source.add_argument("--campaign", type=int, help="campaign id")
        create.add_argument(
            "--purpose", default=ConsentPurpose.PHONE, choices=ConsentPurpose.values
        )
        create.add_argument("--script-file", help="a text file with the call script")
        create.add_argument("--attempts", type=int, default=3)
        create.add_argument("--assign", action="append", default=[], help="username (repeat)")
        create.add_argument("--team", type=int, help="team id")
        export = sub.add_parser("export", help="a list's results as CSV")
        export.add_argument("list_id", type=int)
        export.add_argument("--output", "-o", help="file (default: standard output)")

    def handle(self, *args, action: str, **options) -> None:
        getattr(self, f"_{action}")(**options)

    def _lists(self, *, json: bool = False, **_options) -> None:
        rows = []
        for call_list in CallList.objects.select_related("segment", "campaign").order_by("pk"):
            r = queries.results(call_list)
            rows.append(
                {
                    "id": call_list.pk,
                    "name": call_list.name,
                    "source": str(call_list.segment or call_list.campaign or ""),
                    "to_call": r.to_call,
                    "done": r.finished,
                    "skipped": r.total - r.to_call,
                    "closed": call_list.is_closed,
                }
            )
        if json:
            self.stdout.write(_json(rows))
            return
        for row in rows:
            self.stdout.write(
                f"{row['id']:>5}  {row['name'][:40]:<40}  {row['done']:>6}/{row['to_call']:<6} "
                f"skipped {row['skipped']:<6} {'closed' if row['closed'] else ''}"
            )

    def _create(self, **options) -> None:
        segment = campaign = None
        if options["segment"]:
            segment = Segment.objects.filter(pk=options["segment"]).first()
            if segment is None:
                raise CommandError("No such segment.")
        else:
            campaign = Campaign.objects.filter(pk=options["campaign"]).first()
            if campaign is None:
                raise CommandError("No such campaign.")
        script = ""
        if options["script_file"]:
            with open(options["script_file"], encoding="utf-8") as handle:
                script = handle.read()
        assignees = list(User.objects.filter(username__in=options["assign"]))
        missing = set(options["assign"]) - {u.username for u in assignees}
        if missing:
            raise CommandError(f"No such user: {', '.join(sorted(missing))}")
        team = Team.objects.filter(pk=options["team"]).first() if options["team"] else None
        if options["team"] and team is None:
            raise CommandError("No such team.")
        try:
            built = services.call_list_create(
                actor=None,
                name=options["name"],
                segment=segment,
                campaign=campaign,
                purpose=options["purpose"],
                script=script,
                max_attempts=options["attempts"],
                assignees=assignees,
                team=team,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        skipped = ", ".join(f"{k}: {v}" for k, v in sorted(built.skipped.items())) or "none"
        self.stdout.write(
            f"Call list {built.call_list.pk} built: {built.to_call} to call; skipped {skipped}."
        )

    def _export(self, *, list_id: int, output: str | None = None, **_options) -> None:
        call_list = CallList.objects.filter(pk=list_id).first()
        if call_list is None:
            raise CommandError("No such call list.")
        handle = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout  # noqa: SIM115
        try:
            writer = DefusingWriter(handle)
            writer.writerow(queries.EXPORT_HEADER)
            writer.writerows(queries.export_rows(call_list))
        finally:
            if output:
                handle.close()


def _json(rows) -> str:
    return json.dumps(rows, ensure_ascii=False, indent=2)
