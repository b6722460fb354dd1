"""``kreis mailings list|send|pause|resume|cancel|results|suppress``: mass mailings from the
command line (run as the system, with no user's permission check).

``send ID`` starts a draft (the job queue sends it; ``--inline`` sends in this process and
returns when done), ``results ID`` prints the figures (``--json``; ``--skipped`` lists who was
skipped and why), ``suppress`` adds addresses or domains to the suppression list, imports a
file of them (``--file``), removes one (``--remove``) or lists them (``--list``).
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from kreis.mailings import results, sending, services
from kreis.mailings.models import Mailing, Recipient, RecipientState, Suppression
from kreis.mailings.models import SuppressionSource as Source


def _mailing(pk: int) -> Mailing:
    mailing = Mailing.objects.select_related("segment").filter(pk=pk).first()
    if mailing is None:
        raise CommandError(f"no mailing #{pk}")
    return mailing


class Command(BaseCommand):
    help = "Mass mailings: list, send, pause, resume, cancel, results, suppression list."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="list the mailings with their state and counts")
        send = sub.add_parser("send", help="start sending a draft")
        send.add_argument("mailing", type=int)
        send.add_argument("--base-url", help="public address for the unsubscribe links")
        send.add_argument("--inline", action="store_true", help="send in this process")
        for name in ("pause", "resume", "cancel"):
            sub.add_parser(name, help=f"{name} a mailing").add_argument("mailing", type=int)
        res = sub.add_parser("results", help="a mailing's figures")
        res.add_argument("mailing", type=int)
        res.add_argument("--json", action="store_true")
        res.add_argument("--skipped", action="store_true", help="who was skipped and why")
        sup = sub.add_parser("suppress", help="the suppression list")
        sup.add_argument("values", nargs="*", help="addresses or domains to add")
        sup.add_argument("--reason", default="")
        sup.add_argument("--file", help="import a file: one a line, optional reason after ,")
        sup.add_argument("--remove", action="store_true", help="remove the values instead")
        sup.add_argument("--list", action="store_true", help="print the list")

    def handle(self, *args, action: str, **opts) -> None:
        try:
            getattr(self, "_" + action)(opts)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None

    def _list(self, opts) -> None:
        for mailing in Mailing.objects.select_related("segment").order_by("-created_at"):
            counts = results.counts(mailing)
            self.stdout.write(
                f"#{mailing.pk}\t{mailing.state}\t{mailing.name}\t{mailing.segment.name}\t"
                f"{counts.sent} sent, {counts.skipped} skipped, {counts.queued} queued"
            )

    def _send(self, opts) -> None:
        mailing = _mailing(opts["mailing"])
        count = services.mailing_start(actor=None, mailing=mailing, base_url=opts["base_url"])
        self.stdout.write(f"#{mailing.pk}: {count} recipients queued")
        if opts["inline"]:
            result = sending.run(mailing.pk)
            self.stdout.write(
                f"{result.sent} sent, {result.skipped} skipped, {result.failed} failed"
            )

    def _pause(self, opts) -> None:
        services.mailing_pause(actor=None, mailing=_mailing(opts["mailing"]))
        self.stdout.write("paused")

    def _resume(self, opts) -> None:
        services.mailing_resume(actor=None, mailing=_mailing(opts["mailing"]))
        self.stdout.write("resumed")

    def _cancel(self, opts) -> None:
        services.mailing_cancel(actor=None, mailing=_mailing(opts["mailing"]))
        self.stdout.write("cancelled")

    def _results(self, opts) -> None:
        mailing = _mailing(opts["mailing"])
        results.refresh(mailing)
        figures = results.counts(mailing).as_dict()
        if opts["json"]:
            self.stdout.write(
                json.dumps({"mailing": mailing.pk, "state": mailing.state, **figures})
            )
        else:
            self.stdout.write(f"#{mailing.pk} {mailing.name} ({mailing.state})")
            for key, value in figures.items():
                if key != "skipped_by_reason":
                    self.stdout.write(f"  {key}: {value}")
            for reason, n in figures["skipped_by_reason"].items():
                self.stdout.write(f"  skipped — {reason}: {n}")
        if opts["skipped"]:
            for row in Recipient.objects.filter(mailing=mailing, state=RecipientState.SKIPPED):
                self.stdout.write(f"{row.email or row.party_id}\t{row.skip_reason}")

    def _suppress(self, opts) -> None:
        if opts["file"]:
            path = Path(opts["file"])
            if not path.is_file():
                raise CommandError(f"no file {path}")
            count = services.suppression_import(
                actor=None,
                text=path.read_text(encoding="utf-8-sig"),
                reason=opts["reason"],
                source=Source.CLI,
            )
            self.stdout.write(f"{count} entries imported")
        for value in opts["values"]:
            if opts["remove"]:
                entry = Suppression.objects.filter(value=value.strip().lower()).first()
                if entry is None:
                    raise CommandError(f"{value} is not on the list")
                services.suppression_remove(actor=None, entry=entry)
                self.stdout.write(f"removed {entry.value}")
            else:
                entry = services.suppression_add(
                    actor=None, value=value, reason=opts["reason"], source=Source.CLI
                )
                self.stdout.write(f"added {entry.value}")
        if opts["list"]:
            for entry in Suppression.objects.order_by("value"):
                self.stdout.write(f"{entry.value}\t{entry.get_source_display()}\t{entry.reason}")
