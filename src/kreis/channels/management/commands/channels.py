"""``kreis channels prefs|optout|import-optouts|metrics``: channel preferences in bulk.

``prefs PARTY_ID`` shows a party's preferences (``--json``); ``optout PARTY_ID --channel C``
records an opt-out (``--lift`` removes it, ``--note`` says why); ``import-optouts FILE``
records opt-outs from a CSV of e-mail addresses or phone numbers (columns ``email``,
``phone`` or ``value``, optional ``channel`` and ``note``) in one transaction — any bad line
and nothing is changed, every bad line named; ``metrics`` prints the channel volumes and
response times of a period (``--start``, ``--end``; default the last 30 days), per team and
overall, as a table, ``--json`` or ``--csv`` (cells defused against formulas).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from kreis.channels import services
from kreis.channels.metrics import channel_metrics
from kreis.channels.models import OPT_OUT_FIELD
from kreis.core.web import csv_cell
from kreis.parties.models import Party

MAX_FILE_BYTES = 20 * 1024 * 1024


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _party(pk: int) -> Party:
    party = Party.objects.filter(pk=pk, deleted_at__isnull=True).first()
    if party is None:
        raise CommandError(f"no party with id {pk}")
    return party


class Command(BaseCommand):
    help = "Channel preferences: show, opt out, import opt-outs, channel metrics."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        prefs = sub.add_parser("prefs", help="show a party's channel preferences")
        prefs.add_argument("party_id", type=int)
        prefs.add_argument("--json", action="store_true")
        optout = sub.add_parser("optout", help="record or lift an opt-out")
        optout.add_argument("party_id", type=int)
        optout.add_argument("--channel", required=True, choices=[c.value for c in OPT_OUT_FIELD])
        optout.add_argument("--note", default="")
        optout.add_argument("--lift", action="store_true", help="remove the opt-out")
        imp = sub.add_parser("import-optouts", help="opt-outs from a CSV (all or nothing)")
        imp.add_argument("file", help="CSV file, or - for standard input")
        imp.add_argument("--channel", choices=[c.value for c in OPT_OUT_FIELD], default="")
        imp.add_argument("--note", default="")
        metrics = sub.add_parser("metrics", help="channel volumes and response times")
        metrics.add_argument("--start", type=_date)
        metrics.add_argument("--end", type=_date)
        metrics.add_argument("--team", type=int, action="append", help="only this team (id)")
        out = metrics.add_mutually_exclusive_group()
        out.add_argument("--json", action="store_true")
        out.add_argument("--csv", action="store_true")

    def handle(self, *args, **options) -> None:
        getattr(self, "_" + options["action"].replace("-", "_"))(options)

    def _prefs(self, options) -> None:
        pref = services.preference_of(_party(options["party_id"]))
        data = {
            "party_id": options["party_id"],
            "preferred_channel": pref.preferred_channel,
            "language": pref.language,
            "weekdays": pref.weekdays,
            "time_from": pref.time_from.isoformat() if pref.time_from else None,
            "time_to": pref.time_to.isoformat() if pref.time_to else None,
            "opt_outs": {c: since.isoformat() for c, _label, since in pref.opt_outs()},
            "note": pref.note,
        }
        if options["json"]:
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
            return
        for key, value in data.items():
            self.stdout.write(f"{key}: {value if value not in (None, '', {}) else '-'}")

    def _optout(self, options) -> None:
        party = _party(options["party_id"])
        try:
            services.opt_out(
                actor=None,
                party=party,
                channel=options["channel"],
                note=options["note"],
                lift=options["lift"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        done = "lifted" if options["lift"] else "recorded"
        self.stdout.write(f"opt-out from {options['channel']} {done} for {party} (#{party.pk})")

    def _import_optouts(self, options) -> None:
        name = options["file"]
        if name == "-":
            text = sys.stdin.read(MAX_FILE_BYTES + 1)
        else:
            path = Path(name)
            if not path.is_file():
                raise CommandError(f"no such file: {name}")
            if path.stat().st_size > MAX_FILE_BYTES:
                raise CommandError(f"the file is larger than {MAX_FILE_BYTES // 1024 // 1024} MB")
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                raise CommandError("the file is not UTF-8 text") from None
        if len(text) > MAX_FILE_BYTES:
            raise CommandError(f"the input is larger than {MAX_FILE_BYTES // 1024 // 1024} MB")
        try:
            result = services.opt_out_import(
                actor=None, text=text, channel=options["channel"], note=options["note"]
            )
        except ValidationError as exc:
            raise CommandError(
                "nothing imported:\n" + "\n".join(f"  {m}" for m in exc.messages)
            ) from None
        self.stdout.write(
            f"{result.opted_out} opt-outs recorded, {result.unchanged} were recorded already"
        )

    def _metrics(self, options) -> None:
        end = options["end"] or timezone.localdate()
        start = options["start"] or end - dt.timedelta(days=29)
        if start > end:
            raise CommandError("--start is after --end")
        teams = set(options["team"]) if options["team"] else None
        found = channel_metrics(start=start, end=end, teams=teams)
        if options["json"]:
            self.stdout.write(json.dumps(found.as_dict(), indent=2))
            return
        rows = [(r.team or "(no team)", r) for r in found.rows]
        rows += [("(all teams)", r) for r in found.overall]
        if options["csv"]:
            writer = csv.writer(self.stdout)
            writer.writerow(["team", "channel", "inbound", "outbound", "answered", "avg_hours"])
            for team, r in rows:
                writer.writerow(
                    [csv_cell(team), r.channel, r.inbound, r.outbound, r.answered]
                    + ["" if r.avg_response_hours is None else r.avg_response_hours]
                )
            return
        self.stdout.write(f"{start} .. {end}")
        self.stdout.write(
            f"{'team':<24} {'channel':<10} {'in':>6} {'out':>6} {'answered':>8} {'avg h':>7}"
        )
        for team, r in rows:
            hours = "" if r.avg_response_hours is None else f"{r.avg_response_hours:.1f}"
            self.stdout.write(
                f"{team[:24]:<24} {r.channel:<10} {r.inbound:>6} {r.outbound:>6} "
                f"{r.answered:>8} {hours:>7}"
            )
