"""``kreis marketing consents list|withdraw|expire``: consents in bulk.

- ``list [--party ID] [--email X] [--status S]``: consents with status, purpose, channel,
  basis, text version and times.
- ``withdraw --email X [--purpose P]``: withdraw the address's pending and granted consents
  (of one purpose, else all) — e.g. for an objection that came by letter.
- ``expire``: pending double opt-ins whose link ran out become "expired" (what the hourly job
  does).
"""

from __future__ import annotations

from django.core.management.base import CommandError

from kreis.marketing.consent import services
from kreis.marketing.models import Consent, ConsentPurpose, ConsentStatus


def register(subparsers) -> None:
    parser = subparsers.add_parser("consents", help="Consents: list, withdraw, expire")
    actions = parser.add_subparsers(dest="consents_action", required=True)
    listing = actions.add_parser("list", help="Consents with their status and proof")
    listing.add_argument("--party", type=int, help="Only this party's consents")
    listing.add_argument("--email", help="Only this address's consents")
    listing.add_argument("--status", choices=ConsentStatus.values)
    withdraw = actions.add_parser("withdraw", help="Withdraw an address's consents")
    withdraw.add_argument("--email", required=True)
    withdraw.add_argument("--purpose", choices=ConsentPurpose.values)
    actions.add_parser("expire", help="Expire pending consents whose link ran out")
    parser.set_defaults(run=run)


def run(command, options) -> None:
    out = command.stdout
    action = options["consents_action"]
    if action == "list":
        qs = Consent.objects.select_related("text").order_by("-requested_at", "-pk")
        if options.get("party"):
            qs = qs.filter(party_id=options["party"])
        if options.get("email"):
            qs = qs.filter(email__iexact=options["email"].strip())
        if options.get("status"):
            qs = qs.filter(status=options["status"])
        count = 0
        for c in qs.iterator():
            version = f"v{c.text.version}/{c.text.language}" if c.text_id else "-"
            subject = f"party {c.party_id}" if c.party_id else ""
            subject += f"{' ' if subject else ''}lead {c.lead_id}" if c.lead_id else ""
            out.write(
                f"{c.pk:>6}  {c.requested_at:%Y-%m-%d %H:%M}  {c.email or '-'}  "
                f"{subject or '-'}  {c.purpose}/{c.channel}  {c.status}  {c.basis}  {version}"
                + (f"  confirmed {c.confirmed_at:%Y-%m-%d %H:%M}" if c.confirmed_at else "")
                + (f"  withdrawn {c.withdrawn_at:%Y-%m-%d %H:%M}" if c.withdrawn_at else "")
            )
            count += 1
        out.write(f"{count} consents.")
        return
    if action == "withdraw":
        email = options["email"].strip()
        if not email:
            raise CommandError("--email must not be empty")
        qs = Consent.objects.filter(
            email__iexact=email, status__in=(ConsentStatus.PENDING, ConsentStatus.GRANTED)
        )
        if options.get("purpose"):
            qs = qs.filter(purpose=options["purpose"])
        done = sum(1 for c in qs if services.withdraw(c, via=services.Via.CLI))
        out.write(f"{done} consents withdrawn.")
        return
    out.write(f"{services.expire_pending()} pending consents expired.")
