"""Showing mail safely, sending and replying through the user's own SMTP server (aiosmtpd),
filed in Sent on Dovecot; templates by the recipient's language; delivery reports."""

from __future__ import annotations

import pytest

from kreis.activities.models import Activity
from kreis.comms import services
from kreis.comms.models import AddressStatus, Message
from kreis.comms.sync import sync_account
from tests.comms.conftest import CUSTOMER, dsn, mail
from tests.conftest import client_for
from tests.smtpserver import body_text, free_port

pytestmark = pytest.mark.django_db

HOSTILE = (
    '<p onclick="steal()">Hallo <b>Alice</b></p><script>alert("x")</script>'
    '<img src="https://tracker.example/pixel.gif" alt="Logo">'
    '<a href="javascript:alert(1)">klick</a><iframe src="https://evil.example"></iframe>'
)


def test_html_mail_is_sanitised_and_remote_images_wait_for_the_reader(
    account, imap_user, customer, alice
):
    imap_user.deliver(mail(subject="HTML", html=HOSTILE))
    sync_account(account)
    message = Message.objects.get()
    client = client_for(alice)

    page = client.get(f"/mail/messages/{message.pk}/").content.decode()
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in page
    assert "allow-scripts" not in page
    body = client.get(f"/mail/messages/{message.pk}/body/")
    html = body.content.decode()
    assert "<b>Alice</b>" in html
    for bad in ("<script", "onclick", "javascript:", "<iframe", "tracker.example"):
        assert bad not in html
    assert "script-src" not in body["Content-Security-Policy"]
    assert "default-src 'none'" in body["Content-Security-Policy"]

    client.post(f"/mail/messages/{message.pk}/images/", {"show": "1"})
    html = client.get(f"/mail/messages/{message.pk}/body/").content.decode()
    assert 'src="https://tracker.example/pixel.gif"' in html
    assert "<script" not in html


def test_plain_text_is_shown_escaped(account, imap_user, customer, alice):
    imap_user.deliver(mail(subject="Text", body="<script>alert(1)</script> 3 < 4"))
    sync_account(account)
    page = client_for(alice).get(f"/mail/messages/{Message.objects.get().pk}/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; 3 &lt; 4" in page


def test_write_from_the_party_page_and_reply_in_the_thread(
    account, imap_user, customer, alice, smtp_inbox
):
    client = client_for(alice)
    compose = client.get(f"/mail/compose/?party={customer.pk}").content.decode()
    assert CUSTOMER in compose
    response = client.post(
        "/mail/compose/",
        {
            "party": customer.pk,
            "account": account.pk,
            "to": CUSTOMER,
            "subject": "Ihr Angebot",
            "body": "Anbei das Angebot.",
        },
    )
    assert response.status_code == 302
    recipients, sent = smtp_inbox.messages[0]
    assert recipients == [CUSTOMER]
    assert sent["From"] == "Alice Adler <alice@kreis.example>"
    assert body_text(sent).strip() == "Anbei das Angebot."
    assert len(imap_user.uids("Sent")) == 1
    ours = Message.objects.get(subject="Ihr Angebot")
    assert ours.direction == "outbound"
    assert ours.message_id == sent["Message-ID"]
    assert Activity.objects.get(party=customer).direction == "outbound"

    # The customer answers; the sync threads it by In-Reply-To on our Message-ID.
    imap_user.deliver(mail(subject="Re: Ihr Angebot", in_reply_to=sent["Message-ID"]))
    sync_account(account)
    answer = Message.objects.get(subject="Re: Ihr Angebot")
    assert answer.thread_id == ours.thread_id

    client.post(
        "/mail/compose/",
        {"reply": answer.pk, "account": account.pk, "to": CUSTOMER,
         "subject": "Re: Ihr Angebot", "body": "Gern geschehen."},
    )  # fmt: skip
    _recipients, reply = smtp_inbox.messages[1]
    assert reply["In-Reply-To"] == answer.message_id
    assert reply["References"].split() == [sent["Message-ID"], answer.message_id]
    assert len(imap_user.uids("Sent")) == 2
    # The copy in Sent is recognised on the next sync, not stored twice.
    assert sync_account(account).stored == 0
    assert Message.objects.filter(thread_id=ours.thread_id).count() == 3


def test_a_refused_send_shows_the_error_and_keeps_the_draft(account, customer, alice):
    account.smtp_port = free_port()  # nothing listens there
    account.save()
    response = client_for(alice).post(
        "/mail/compose/",
        {"account": account.pk, "to": CUSTOMER, "subject": "Wichtig", "body": "Mein langer Text"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "The mail server refused the mail: Connection refused" in page
    assert "Mein langer Text" in page
    assert "Wichtig" in page
    assert not Message.objects.exists()


def test_the_template_is_chosen_by_the_recipients_language(account, customer, alice, mia):
    services.template_save(
        actor=mia, name="Follow-up", language="de", subject="Nachfrage für {{ party.name }}",
        body="Hallo {{ party.first_name }}, {{ owner.name }}",
    )  # fmt: skip
    services.template_save(
        actor=mia, name="Follow-up", language="en",
        subject="Following up, {{ party.name }}", body="Hello {{ party.first_name }}",
    )  # fmt: skip
    customer.custom = {"language": "de"}
    customer.save()
    client = client_for(alice)
    form = {"party": customer.pk, "account": account.pk, "to": CUSTOMER,
            "template": "Follow-up", "apply_template": "1", "subject": "", "body": ""}  # fmt: skip
    page = client.post("/mail/compose/", form).content.decode()
    assert "Nachfrage für Erika Kundin" in page
    assert "Hallo Erika, Alice Adler" in page

    customer.custom = {"language": "en"}
    customer.save()
    page = client.post("/mail/compose/", form).content.decode()
    assert "Following up, Erika Kundin" in page
    assert "Hello Erika" in page


def test_a_template_cannot_reach_beyond_its_merge_fields(mia):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="Unknown merge fields: owner.password"):
        services.template_save(
            actor=mia, name="X", language="de", subject="{{ owner.password }}", body="x"
        )


def test_bounces_mark_addresses_and_make_no_timeline_noise(account, imap_user, customer, alice):
    imap_user.deliver(dsn(recipient=CUSTOMER, status="5.1.1"))
    imap_user.deliver(dsn(recipient="voll@kunde.example", status="4.2.2", action="delayed"))
    sync_account(account)

    assert AddressStatus.objects.get(address=CUSTOMER).is_invalid
    soft = AddressStatus.objects.get(address="voll@kunde.example")
    assert (soft.is_invalid, soft.soft_bounces) == (False, 1)
    assert not Activity.objects.exists()
    assert all(m.is_bounce and not m.is_shared for m in Message.objects.all())
    panel = client_for(alice).get(f"/mail/party/{customer.pk}/").content.decode()
    assert f"{CUSTOMER} is invalid: the mail bounced (5.1.1)." in panel
