"""Fixtures of the e-mail tests: alice's mailbox on the test process's Dovecot (with SMTP
through the test's aiosmtpd), a known customer of team North, and raw mails to deliver."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from django.utils import timezone

from kreis.comms import services
from kreis.parties.models import ContactKind, ContactPoint
from tests.parties.factories import PersonFactory

CUSTOMER = "erika@kunde.example"


@pytest.fixture
def customer(alice, north):
    person = PersonFactory(first_name="Erika", last_name="Kundin", owner=alice, team=north)
    ContactPoint.objects.create(
        party=person, kind=ContactKind.EMAIL, value=CUSTOMER, is_primary=True
    )
    return person


@pytest.fixture
def account(alice, imap_user, smtp_inbox, settings):
    return services.account_create(
        actor=alice,
        name="Alice",
        email_address="alice@kreis.example",
        display_name="Alice Adler",
        imap_host=imap_user.host,
        imap_port=imap_user.port,
        imap_security="none",
        imap_username=imap_user.username,
        imap_password=imap_user.password,
        smtp_host="127.0.0.1",
        smtp_port=settings.EMAIL_PORT,
        smtp_security="none",
        folders="INBOX",
        sent_folder="Sent",
        share_mode="known",
    )


def mail(
    *,
    sender: str = CUSTOMER,
    to: str = "alice@kreis.example",
    subject: str = "Angebot",
    body: str = "Guten Tag, bitte schicken Sie ein Angebot.",
    html: str | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    attachments: list[tuple[str, str, bytes]] = (),
) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = message_id or make_msgid(domain="kunde.example")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def dsn(*, recipient: str, status: str, action: str = "failed") -> bytes:
    """A delivery status notification (RFC 3464) as a mail server writes it."""
    return f"""From: Mail Delivery System <MAILER-DAEMON@mx.kreis.example>
To: alice@kreis.example
Subject: Undelivered Mail Returned to Sender
Date: {format_datetime(timezone.now())}
Message-ID: {make_msgid(domain="mx.kreis.example")}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

I'm sorry to have to inform you that your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.kreis.example

Final-Recipient: rfc822; {recipient}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; 550 {status} User unknown

--B
Content-Type: text/rfc822-headers

From: alice@kreis.example
To: {recipient}
Subject: Angebot

--B--
""".encode()
