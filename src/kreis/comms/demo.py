"""Demo mail: a sales rep's mailbox with a few threads with demo customers, generated here
(no network) and stored through the same code as synced mail (``store.store_mail``), so they
are threaded, linked to the customers and on their timelines as a sync would leave them. The
account is inactive: there is no mail server behind it to sync with."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from django.utils import timezone

from kreis.comms.models import MailAccount, ShareMode
from kreis.comms.store import store_mail
from kreis.core import crypto
from kreis.core.demo import DemoContext
from kreis.core.mailfetch import parse_mail
from kreis.core.models import Role
from kreis.parties.models import ContactKind, ContactPoint

THREADS = [
    (
        "Anfrage Wartungsvertrag",
        "Guten Tag,\n\nwir interessieren uns für einen Wartungsvertrag für unsere Anlagen. "
        "Können Sie uns ein Angebot schicken?\n\nViele Grüße",
        "vielen Dank für Ihre Anfrage. Ich schicke Ihnen bis Freitag ein Angebot.",
        "Danke, wir warten gespannt auf das Angebot.",
    ),
    (
        "Delivery date for order 4711",
        "Hello,\n\ncould you confirm the delivery date for our order 4711?\n\nThanks",
        "the order ships on Monday; you will have it on Wednesday.",
        "",
    ),
    (
        "Termin nächste Woche",
        "Hallo,\n\npasst Ihnen Dienstag um 10 Uhr für das Gespräch?\n\nGruß",
        "Dienstag 10 Uhr passt sehr gut, ich komme zu Ihnen.",
        "Prima, bis Dienstag!",
    ),
    (
        "Invoice question",
        "Hi,\n\nthe last invoice lists two items twice. Could you check?\n\nBest",
        "you are right, I will send a corrected invoice today.",
        "",
    ),
]


def _raw(*, sender, to, subject, body, when, reply_to=None) -> tuple[bytes, str]:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, to, subject
    mail["Date"] = format_datetime(when)
    message_id = make_msgid(domain=sender.rpartition("@")[2].strip(">"))
    mail["Message-ID"] = message_id
    if reply_to:
        mail["In-Reply-To"] = reply_to[-1]
        mail["References"] = " ".join(reply_to)
    mail.set_content(body)
    return mail.as_bytes(), message_id


def create_mail_threads(ctx: DemoContext) -> dict[str, int]:
    # The demo login "rep" when it is there (its mail is what a visitor signs in to see).
    reps = [u for u in ctx.users if u.role == Role.SALES_REP]
    rep = next((u for u in reps if u.username == "rep"), reps[0] if reps else None)
    if rep is None:
        return {}
    team_ids = list(rep.memberships.values_list("team_id", flat=True))
    points = list(
        ContactPoint.objects.filter(
            kind=ContactKind.EMAIL, party__team_id__in=team_ids, party__deleted_at__isnull=True
        )
        .select_related("party")
        .order_by("pk")[: len(THREADS)]
    )
    if not points:
        return {}
    address = rep.email or f"{rep.username}@kreis-demo.example"
    account = MailAccount.objects.create(
        name=rep.get_full_name() or rep.username,
        email_address=address.lower(),
        display_name=rep.get_full_name(),
        owner=rep,
        imap_host="127.0.0.1",
        imap_port=143,
        imap_security="none",
        imap_username=rep.username,
        imap_password_encrypted=crypto.encrypt("demo"),
        smtp_host="127.0.0.1",
        smtp_port=25,
        smtp_security="none",
        share_mode=ShareMode.KNOWN,
        is_active=False,
    )
    stored = 0
    now = timezone.now()
    for number, (point, (subject, question, answer, thanks)) in enumerate(
        zip(points, THREADS, strict=False)
    ):
        customer = point.value
        when = now - dt.timedelta(days=3 * number + 2, hours=ctx.fake.random_int(1, 8))
        ids: list[str] = []
        steps = [(customer, address, subject, question, "INBOX")]
        salutation = point.party.name
        steps.append((address, customer, f"Re: {subject}", f"{salutation},\n\n{answer}", "Sent"))
        if thanks:
            steps.append((customer, address, f"Re: {subject}", thanks, "INBOX"))
        for sender, to, title, body, folder in steps:
            raw, message_id = _raw(
                sender=sender, to=to, subject=title, body=body, when=when, reply_to=ids or None
            )
            ids.append(message_id)
            store_mail(account=account, mail=parse_mail(raw, full=True), raw=raw, folder=folder)
            stored += 1
            when += dt.timedelta(hours=ctx.fake.random_int(2, 20))
    return {"e-mails": stored}
