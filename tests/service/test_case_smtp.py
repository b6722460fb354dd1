"""The acknowledgement reaches a real SMTP server (aiosmtpd on loopback, the shared
``smtp_inbox`` fixture of tests/conftest.py) in German."""

import pytest

from kreis.parties.services import party_create
from kreis.service import services

pytestmark = pytest.mark.django_db


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
