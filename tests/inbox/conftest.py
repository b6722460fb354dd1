"""Inbound messages of every channel for the inbox tests: a shared and a private mail in
alice's mailbox, a mention from her source, a web-form submission, a survey comment and a
complaint with a customer message."""

from email.message import EmailMessage

import pytest
from django.utils import timezone

from kreis.comms.models import MailAccount
from kreis.comms.store import store_mail
from kreis.core.mailfetch import parse_mail
from kreis.parties.models import ContactPoint
from tests.parties.factories import OrganizationFactory


def raw_mail(sender: str, subject: str, msgid: str, reply_to: str = "") -> bytes:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, "alice@kreis.example", subject
    mail["Message-ID"] = msgid
    if reply_to:
        mail["In-Reply-To"] = mail["References"] = reply_to
    mail.set_content(f"{subject}: bitte um Rückruf")
    return mail.as_bytes()


@pytest.fixture
def customer(alice, north):
    org = OrganizationFactory(name="Wexford GmbH", owner=alice, team=north)
    ContactPoint.objects.create(party=org, kind="email", value="info@wexford.example")
    return org


@pytest.fixture
def mailbox(alice):
    return MailAccount.objects.create(
        name="Alice", email_address="alice@kreis.example", owner=alice,
        imap_host="127.0.0.1", imap_username="alice",
    )  # fmt: skip


@pytest.fixture
def deliver(mailbox):
    def run(sender: str, subject: str, msgid: str, **extra):
        return store_mail(
            account=mailbox,
            mail=parse_mail(raw_mail(sender, subject, msgid, **extra), full=True),
            folder="INBOX",
        )[0]

    return run


@pytest.fixture
def shared_mail(deliver, customer):
    return deliver("info@wexford.example", "Angebot Pumpen", "<a1@wexford.example>")


@pytest.fixture
def private_mail(deliver, customer):
    return deliver("oma@family.example", "Geburtstag", "<p1@family.example>")


@pytest.fixture
def now():
    return timezone.now()
