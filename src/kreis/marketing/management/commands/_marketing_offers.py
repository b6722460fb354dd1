"""``kreis marketing offers list|follow-ups``: content offers in bulk.

- ``list``: the offers with their order, language, topic and downloads.
- ``follow-ups``: send the follow-up offers that are due now (what the job does every 15
  minutes); ``--dry-run`` only lists them, with the leads that lack marketing consent.
"""

from __future__ import annotations

from django.db.models import Count, Sum

from kreis.marketing.models import ContentOffer
from kreis.marketing.offers import followups


def register(subparsers) -> None:
    parser = subparsers.add_parser("offers", help="Content offers: list, follow-ups")
    actions = parser.add_subparsers(dest="offers_action", required=True)
    actions.add_parser("list", help="The offers")
    send = actions.add_parser("follow-ups", help="Send the follow-up offers due now")
    send.add_argument("--dry-run", action="store_true", help="Only list what would be sent")
    parser.set_defaults(run=run)


def run(command, options) -> None:
    out = command.stdout
    if options["offers_action"] == "list":
        offers = ContentOffer.objects.annotate(
            handed=Count("downloads"), downloads=Sum("downloads__download_count")
        ).order_by("position", "pk")
        for offer in offers:
            state = "" if offer.is_active else " (inactive)"
            out.write(
                f"{offer.pk:>5}  #{offer.position:<3} {offer.language}  {offer.name}{state}  "
                f"[{offer.topic or '-'}] handed out {offer.handed}, downloaded "
                f"{offer.downloads or 0}"
            )
        return
    dry_run = options["dry_run"]
    items = followups.run(dry_run=dry_run)
    for item in items:
        if item.sent:
            state = "sent"
        elif item.refused:
            state = f"not sent: {item.refused}"
        else:
            state = "would be sent"
        out.write(f"lead {item.lead.pk} ({item.lead}): {item.offer.name} — {item.reason}; {state}")
    sent = sum(1 for i in items if i.sent)
    out.write(f"{len(items)} follow-ups due, {sent} sent." + (" (dry run)" if dry_run else ""))
