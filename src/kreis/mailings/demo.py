"""Demo: a finished newsletter to a static segment of customers, with its results — sent,
skipped (consent withdrawn, none given), a hard bounce, a reply and an unsubscribe. Nothing
talks to a mail server: the outcomes are recorded as the sending and the read-back would
leave them (consents through the consent services, the bounce as comms records one)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from kreis.comms.bounces import Bounce, bounce_record
from kreis.core.demo import DemoContext
from kreis.core.models import Role
from kreis.mailings.models import Mailing, MailingState, Recipient, RecipientState, SkipReason
from kreis.mailings.sending import Outcome, _activity, message_id_for
from kreis.marketing.consent import services as consent
from kreis.marketing.models import (
    ConsentBasis,
    ConsentChannel,
    ConsentPurpose,
    ConsentSource,
    Segment,
    SegmentKind,
    SegmentMember,
)
from kreis.parties.models import ContactKind, ContactPoint

SUBJECT = "Neuigkeiten aus dem Frühjahr"
BODY = (
    "Guten Tag {{ party.name }},\n\nunser Frühjahrsprogramm ist da: neue Wartungspakete, "
    "kürzere Lieferzeiten und ein Kundentag im Mai.\n\nViele Grüße\n{{ owner.name }}"
)


def create_mailing(ctx: DemoContext) -> dict[str, int]:
    marketers = [u for u in ctx.users if u.role == Role.MARKETING]
    owner = marketers[0] if marketers else next((u for u in ctx.users if u.is_admin), None)
    if owner is None:
        return {}
    points = list(
        ContactPoint.objects.filter(kind=ContactKind.EMAIL, party__deleted_at__isnull=True)
        .select_related("party")
        .order_by("party_id", "-is_primary", "pk")
    )
    chosen, seen = [], set()
    for point in points:
        if point.party_id not in seen:
            seen.add(point.party_id)
            chosen.append(point)
        if len(chosen) == 24:
            break
    if len(chosen) < 6:
        return {}
    segment = Segment.objects.create(
        name="Newsletter Frühjahr", kind=SegmentKind.STATIC, owner=owner
    )
    SegmentMember.objects.bulk_create(
        [SegmentMember(segment=segment, party=p.party, added_by=owner) for p in chosen]
    )
    started = timezone.now() - dt.timedelta(days=6)
    mailing = Mailing.objects.create(
        name="Newsletter Frühjahr",
        segment=segment,
        purpose=ConsentPurpose.NEWSLETTER,
        subject=SUBJECT,
        body=BODY,
        rate=20,
        state=MailingState.FINISHED,
        owner=owner,
        started_at=started,
        finished_at=started + dt.timedelta(minutes=2),
        link_base="http://127.0.0.1:8000",
    )
    sent = 0
    for number, point in enumerate(chosen):
        address = point.value.strip().lower()
        recipient = Recipient.objects.create(
            mailing=mailing, party=point.party, email=address, language="de"
        )
        if number % 8 == 7:  # never gave a consent
            recipient.state, recipient.skip_reason = RecipientState.SKIPPED, SkipReason.NO_CONSENT
            recipient.save()
            continue
        given = consent.request_consent(
            purpose=ConsentPurpose.NEWSLETTER,
            channel=ConsentChannel.EMAIL,
            email=address,
            party=point.party,
            language="de",
            source=ConsentSource.STAFF,
            basis=ConsentBasis.EXISTING_CUSTOMER,
            actor=owner,
            base_url="http://127.0.0.1:8000",
        )
        if number == 3:  # withdrew before the mailing went out
            consent.withdraw(given, actor=owner, via=consent.Via.STAFF)
            recipient.state = RecipientState.SKIPPED
            recipient.skip_reason = SkipReason.CONSENT_WITHDRAWN
            recipient.save()
            continue
        when = started + dt.timedelta(seconds=3 * number)
        recipient.state, recipient.sent_at, recipient.consent_id = (
            RecipientState.SENT,
            when,
            given.pk,
        )
        recipient.message_id = message_id_for(recipient, "kreis-demo.example")
        recipient.save()
        _activity(recipient, mailing, Outcome(RecipientState.SENT, subject=SUBJECT), when)
        sent += 1
        if number == 1:  # the address no longer exists
            bounce_record(
                bounce=Bounce(
                    address=address, status="5.1.1", hard=True, diagnostic="550 5.1.1 unknown"
                )
            )
            Recipient.objects.filter(pk=recipient.pk).update(
                bounced_at=when + dt.timedelta(minutes=1), hard_bounce=True
            )
        elif number in (2, 9):  # answered
            Recipient.objects.filter(pk=recipient.pk).update(
                replied_at=when + dt.timedelta(hours=5 + number)
            )
        elif number == 5:  # clicked "unsubscribe" in the mail
            consent.withdraw(given, via=consent.Via.LINK)
            Recipient.objects.filter(pk=recipient.pk).update(unsubscribed_at=timezone.now())
    return {"mailings": 1, "mailing recipients sent": sent}
