"""What became of a mailing: counts per state and outcome, and the read-back of bounces,
replies and unsubscribes.

``refresh`` stamps each sent recipient from the records other apps keep (set-based updates,
cheap to repeat; the results page, the API, the CLI and a periodic job call it):

- *bounced*: the address's bounce record in comms (``AddressStatus``, fed by the delivery
  reports comms syncs and parses) shows a bounce after the mail was sent; *hard* when it
  marked the address invalid after that.
- *replied*: an inbound message synced by comms answers the mail (its In-Reply-To is the
  mail's Message-ID).
- *unsubscribed*: the consent the mail was sent on was withdrawn through the unsubscribe link
  or the one-click header (its consent event) after the mail was sent.

Opens and clicks are not recorded: Kreis puts no tracking pixel or redirected links into
mailings (see the README).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, Subquery

from kreis.comms.models import AddressStatus, Direction, Message
from kreis.mailings.models import Mailing, MailingState, Recipient, RecipientState, SkipReason
from kreis.marketing.consent.services import Via
from kreis.marketing.models import ConsentEvent, ConsentEventKind


def refresh(mailing: Mailing) -> None:
    if mailing.state == MailingState.DRAFT:
        return
    sent = Recipient.objects.filter(mailing=mailing, state=RecipientState.SENT)
    bounce = AddressStatus.objects.filter(
        address=OuterRef("email"), last_bounce_at__gte=OuterRef("sent_at")
    )
    sent.filter(bounced_at__isnull=True).filter(Exists(bounce)).update(
        bounced_at=Subquery(bounce.values("last_bounce_at")[:1])
    )
    sent.filter(bounced_at__isnull=False, hard_bounce=False).filter(
        Exists(
            AddressStatus.objects.filter(
                address=OuterRef("email"), hard_bounced_at__gte=OuterRef("sent_at")
            )
        )
    ).update(hard_bounce=True)
    reply = Message.objects.filter(
        direction=Direction.INBOUND, in_reply_to=OuterRef("message_id")
    ).order_by("sent_at")
    sent.filter(replied_at__isnull=True).filter(Exists(reply)).update(
        replied_at=Subquery(reply.values("sent_at")[:1])
    )
    withdrawal = ConsentEvent.objects.filter(
        consent_id=OuterRef("consent_id"),
        kind=ConsentEventKind.WITHDRAWN,
        note__in=(Via.LINK, Via.ONE_CLICK),
        at__gte=OuterRef("sent_at"),
    ).order_by("at")
    sent.filter(unsubscribed_at__isnull=True, consent_id__isnull=False).filter(
        Exists(withdrawal)
    ).update(unsubscribed_at=Subquery(withdrawal.values("at")[:1]))


@dataclass
class Counts:
    total: int
    queued: int
    sending: int
    sent: int
    skipped: int
    failed: int
    uncertain: int
    cancelled: int
    bounced: int
    hard_bounced: int
    replied: int
    unsubscribed: int
    skipped_by_reason: dict[str, int]

    @property
    def done(self) -> int:
        return self.total - self.queued - self.sending

    @property
    def progress(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100

    @property
    def delivered(self) -> int:
        return self.sent - self.bounced

    def as_dict(self) -> dict:
        return {
            "total": self.total,
            "queued": self.queued,
            "sending": self.sending,
            "sent": self.sent,
            "delivered": self.delivered,
            "skipped": self.skipped,
            "failed": self.failed,
            "uncertain": self.uncertain,
            "cancelled": self.cancelled,
            "bounced": self.bounced,
            "hard_bounced": self.hard_bounced,
            "replied": self.replied,
            "unsubscribed": self.unsubscribed,
            "progress": self.progress,
            "skipped_by_reason": self.skipped_by_reason,
        }


def counts(mailing: Mailing) -> Counts:
    """The mailing's figures in two queries."""
    rows = Recipient.objects.filter(mailing=mailing)
    by_state = dict(rows.values_list("state").annotate(n=Count("pk")).order_by())
    outcome = rows.filter(state=RecipientState.SENT).aggregate(
        bounced=Count("pk", filter=Q(bounced_at__isnull=False)),
        hard=Count("pk", filter=Q(hard_bounce=True)),
        replied=Count("pk", filter=Q(replied_at__isnull=False)),
        unsubscribed=Count("pk", filter=Q(unsubscribed_at__isnull=False)),
    )
    reasons = dict(
        rows.filter(state=RecipientState.SKIPPED)
        .values_list("skip_reason")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return Counts(
        total=sum(by_state.values()),
        queued=by_state.get(RecipientState.QUEUED, 0),
        sending=by_state.get(RecipientState.CLAIMED, 0),
        sent=by_state.get(RecipientState.SENT, 0),
        skipped=by_state.get(RecipientState.SKIPPED, 0),
        failed=by_state.get(RecipientState.FAILED, 0),
        uncertain=by_state.get(RecipientState.UNCERTAIN, 0),
        cancelled=by_state.get(RecipientState.CANCELLED, 0),
        bounced=outcome["bounced"],
        hard_bounced=outcome["hard"],
        replied=outcome["replied"],
        unsubscribed=outcome["unsubscribed"],
        skipped_by_reason={
            str(SkipReason(key).label): n for key, n in reasons.items() if key in SkipReason.values
        },
    )
