"""``kreis playbooks list|start|stop|advance|stats``: playbooks from the command line.

``start`` and ``stop`` take party ids as arguments or one per line from a file (``--file``,
``-`` for standard input) and go through the same services as the rule engine and the API:
set-based, for tens of thousands at once. ``advance`` runs the exit checks and the due steps
now (what the job queue's sweep does every five minutes).
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from kreis.playbooks import queries, services
from kreis.playbooks.models import Enrollment, EnrollmentStatus, Playbook


class Command(BaseCommand):
    help = "Playbooks: list, start or stop for parties, run due steps, show the figures."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="the playbooks with their enrollments by status")
        listing.add_argument("--json", action="store_true")
        for name, text in (("start", "enrol parties"), ("stop", "take parties out")):
            command = sub.add_parser(name, help=text)
            command.add_argument("playbook", help="the playbook's id or key")
            command.add_argument("party_ids", nargs="*", type=int, help="party ids")
            command.add_argument("--file", help="party ids, one per line ('-': standard input)")
            if name == "stop":
                command.add_argument("--reason", default="manual", help="kept as the note")
        advance = sub.add_parser("advance", help="check exits and run due steps now")
        advance.add_argument("--playbook", help="only this playbook (id or key)")
        stats = sub.add_parser("stats", help="treated versus control group, with 95 %% interval")
        stats.add_argument("playbook", help="the playbook's id or key")
        stats.add_argument("--json", action="store_true")

    def handle(self, *args, action: str, **opts) -> None:
        getattr(self, f"_{action}")(opts)

    def _playbook(self, ref: str) -> Playbook:
        playbook = (
            Playbook.objects.filter(pk=int(ref)).first()
            if ref.isdigit()
            else Playbook.objects.filter(key=ref).first()
        )
        if playbook is None:
            raise CommandError(f"no playbook {ref!r}")
        return playbook

    def _ids(self, opts) -> list[int]:
        ids = list(opts["party_ids"] or [])
        if opts.get("file"):
            handle = sys.stdin if opts["file"] == "-" else open(opts["file"], encoding="utf-8")
            with handle:
                for n, line in enumerate(handle, start=1):
                    line = line.strip()
                    if not line:
                        continue
                    if not line.isdigit():
                        raise CommandError(f"line {n}: not a party id: {line!r}")
                    ids.append(int(line))
        if not ids:
            raise CommandError("give party ids or --file")
        return ids

    def _list(self, opts) -> None:
        rows = []
        for playbook in Playbook.objects.order_by("kind", "name_de", "pk"):
            counts = dict.fromkeys(EnrollmentStatus.values, 0)
            for status, n in (
                Enrollment.objects.filter(playbook=playbook)
                .order_by()
                .values_list("status")
                .annotate(n=Count("pk"))
            ):
                counts[status] = n
            rows.append(
                {
                    "id": playbook.pk,
                    "key": playbook.key,
                    "name": playbook.name_en,
                    "kind": playbook.kind,
                    "enabled": playbook.enabled,
                    "entry_phases": playbook.entry_phases,
                    "holdout_percent": playbook.holdout_percent,
                    **counts,
                }
            )
        if opts["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        for r in rows:
            self.stdout.write(
                f"{r['id']:>4}  {r['name'][:40]:<40} {r['kind']:<9} "
                f"{'on ' if r['enabled'] else 'off'} active {r['active']:>7}  "
                f"held out {r['held_out']:>6}  completed {r['completed']:>6}  "
                f"exited {r['exited']:>6}"
            )

    def _start(self, opts) -> None:
        playbook = self._playbook(opts["playbook"])
        n = services.start_for_parties(playbook, self._ids(opts), source="cli")
        self.stdout.write(f"enrolled {n}")

    def _stop(self, opts) -> None:
        playbook = self._playbook(opts["playbook"])
        n = services.stop_for_parties(playbook, self._ids(opts), reason=opts["reason"])
        self.stdout.write(f"stopped {n}")

    def _advance(self, opts) -> None:
        ids = [self._playbook(opts["playbook"]).pk] if opts.get("playbook") else None
        exits = services.check_exits()
        ran = services.advance_due(playbook_ids=ids)
        self.stdout.write(f"exits {json.dumps(exits)}; steps run {ran}")

    def _stats(self, opts) -> None:
        playbook = self._playbook(opts["playbook"])
        data = queries.stats_as_dict(queries.playbook_stats(playbook))
        if opts["json"]:
            self.stdout.write(json.dumps(data, indent=2))
            return
        self.stdout.write(f"{playbook.name_en}: {data['metric']}")
        for label in ("ended", "running"):
            c = data[label]
            t, k = c["treated"], c["control"]

            def pct(v):
                return "–" if v is None else f"{v * 100:.1f} %"

            ci = (
                f"[{c['ci_low'] * 100:.1f}, {c['ci_high'] * 100:.1f}]"
                if c["ci_low"] is not None
                else "–"
            )
            self.stdout.write(
                f"  {label:<8} treated {pct(t['rate'])} ({t['successes']}/{t['n']})  "
                f"control {pct(k['rate'])} ({k['successes']}/{k['n']})  "
                f"uplift {pct(c['uplift'])}  95 % CI {ci}"
            )
