"""The acknowledgement reaches a real SMTP server (aiosmtpd on loopback) in German."""

import email
import socket
from email.policy import default as default_policy

import pytest

from kreis.parties.services import party_create
from kreis.service import services

pytestmark = pytest.mark.django_db


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_inbox(settings):
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    try:
        yield inbox
    finally:
        controller.stop()


def test_the_acknowledgement_arrives_over_smtp(
    alice, defect, smtp_inbox, django_capture_on_commit_callbacks
):
    customer = party_create(
        actor=alice,
        kind="person",
        first_name="Jörg",
        last_name="Müller",
        emails=[{"value": "joerg.mueller@example.org"}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        case = services.case_create(
            actor=alice,
            party=customer,
            channel="phone",
            category=defect,
            subject="Pumpe läuft nicht an",
            severity="high",
            language="de",
        )
    assert len(smtp_inbox.messages) == 1
    recipients, message = smtp_inbox.messages[0]
    assert recipients == ["joerg.mueller@example.org"]
    # The encoded subject is folded onto its own line ("Subject: \r\n =?utf-8?q?…"): the
    # unfolded value starts with that fold's blank.
    assert message["Subject"].strip() == f"Ihre Reklamation {case.number}: Pumpe läuft nicht an"
    body = message.get_content()
    assert f"unter der Nummer {case.number} erfasst" in body
    assert "Mit freundlichen Grüßen" in body
