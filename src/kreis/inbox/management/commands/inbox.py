"""``kreis inbox backfill|stats|sla``: the unified inbox in bulk.

``backfill`` makes the items of inbound messages stored before the inbox listened (idempotent:
run twice, the second run creates nothing); ``stats`` prints counts per status and channel,
breaches and answers in time (``--user``: as that user sees the inbox; default all);
``sla`` lists the first-response time per channel, ``sla --set CHANNEL HOURS [--calendar ID]``
changes one.
"""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from kreis.core.models import User
from kreis.inbox import queries, services, sla
from kreis.inbox.backfill import backfill
from kreis.inbox.models import InboxChannel


class Command(BaseCommand):
    help = "Unified inbox: backfill items, print statistics, show or set the SLA."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        fill = sub.add_parser("backfill", help="make the items missing for stored messages")
        fill.add_argument("--channel", choices=InboxChannel.values, default="")
        stats = sub.add_parser("stats", help="counts per status and channel, SLA breaches")
        stats.add_argument("--user", help="the inbox as this user (login name) sees it")
        stats.add_argument("--json", action="store_true")
        policy = sub.add_parser("sla", help="the first-response time per channel")
        policy.add_argument("--set", nargs=2, metavar=("CHANNEL", "HOURS"))
        policy.add_argument("--calendar", type=int, help="complaint SLA policy id (business hours)")

    def handle(self, *args, **options) -> None:
        action = options["action"]
        if action == "backfill":
            created = backfill(channel=options["channel"])
            for source, count in created.items():
                self.stdout.write(f"{source}: {count} created")
            self.stdout.write(f"total: {sum(created.values())} created")
        elif action == "stats":
            self._stats(options)
        else:
            self._sla(options)

    def _stats(self, options) -> None:
        user = None
        if options.get("user"):
            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user {options['user']!r}.")
        figures = queries.stats_for_user(user=user)
        if options["json"]:
            self.stdout.write(json.dumps(figures, indent=2, sort_keys=True))
            return
        for status, n in sorted(figures["by_status"].items()):
            self.stdout.write(f"status {status}: {n}")
        for channel, n in sorted(figures["open_by_channel"].items()):
            self.stdout.write(f"not done, {channel}: {n}")
        self.stdout.write(f"SLA breached: {figures['breached']}")
        self.stdout.write(
            f"answered in time: {figures['answered_in_time']} of {figures['answered']}"
        )

    def _sla(self, options) -> None:
        if options["set"]:
            from kreis.service.models import SlaPolicy as CaseSla

            channel, hours = options["set"]
            if not hours.isdigit():
                raise CommandError("HOURS must be a whole number.")
            calendar = None
            if options["calendar"]:
                calendar = CaseSla.objects.filter(pk=options["calendar"]).first()
                if calendar is None:
                    raise CommandError(f"No complaint SLA policy {options['calendar']}.")
            try:
                services.sla_policy_set(
                    actor=None, channel=channel, hours=int(hours), calendar=calendar
                )
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from exc
        for row in sla.policy_table():
            where = f"business hours of {row['calendar']}" if row["calendar"] else "clock hours"
            default = "" if row["configured"] else " (default)"
            self.stdout.write(f"{row['channel']}: {row['hours']} h, {where}{default}")
