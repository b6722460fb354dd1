"""What the owner does not share never reaches the CRM: no timeline entry, no search entry,
and a 404 for every other user — teammates and administrators alike — on pages and API."""

from __future__ import annotations

import pytest

from kreis.activities.models import Activity
from kreis.comms import services
from kreis.comms.models import Message
from kreis.comms.sync import sync_account
from kreis.core.search import search_all
from tests.comms.conftest import mail
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced(account, imap_user, customer, alice):
    services.rule_add(actor=alice, account=account, pattern="@family.example", action="never")
    imap_user.deliver(mail(subject="Wartungsvertrag Kundin"))
    imap_user.deliver(mail(sender="mama@family.example", subject="Familienfest Sonntag"))
    imap_user.deliver(mail(sender="fremd@unbekannt.example", subject="Newsletter Fremd"))
    # A customer and the family on one mail: "never share" wins.
    imap_user.deliver(
        mail(
            sender="mama@family.example",
            to="alice@kreis.example, erika@kunde.example",
            subject="Geburtstag Erika",
        )
    )
    sync_account(account)
    return {m.subject: m for m in Message.objects.all()}


def test_only_mail_with_known_parties_and_without_never_rules_is_shared(synced, customer):
    assert synced["Wartungsvertrag Kundin"].is_shared
    assert not synced["Familienfest Sonntag"].is_shared
    assert not synced["Newsletter Fremd"].is_shared
    assert not synced["Geburtstag Erika"].is_shared
    assert list(Activity.objects.values_list("subject", flat=True)) == ["Wartungsvertrag Kundin"]


def test_private_mail_is_a_404_for_everyone_but_the_owner(synced, alice, bob, dana, api_key_for):
    private = synced["Familienfest Sonntag"]
    shared = synced["Wartungsvertrag Kundin"]
    assert client_for(alice).get(f"/mail/messages/{private.pk}/").status_code == 200
    for user in (bob, dana):
        client = client_for(user)
        assert client.get(f"/mail/messages/{private.pk}/").status_code == 404
        assert client.get(f"/mail/messages/{private.pk}/body/").status_code == 404
        assert client.get(f"/mail/threads/{private.thread_id}/").status_code == 404
        assert "Familienfest" not in client.get("/mail/").content.decode()
        headers = {"HTTP_AUTHORIZATION": f"Bearer {api_key_for(user)}"}
        assert client.get(f"/api/v1/mail/messages/{private.pk}", **headers).status_code == 404
        listed = client.get("/api/v1/mail/messages", **headers).json()["items"]
        assert [m["subject"] for m in listed] == ["Wartungsvertrag Kundin"]
    # The shared mail: teammate bob sees it, as he sees the customer's timeline.
    assert client_for(bob).get(f"/mail/messages/{shared.pk}/").status_code == 200


def test_the_search_finds_shared_mail_only(synced, alice, bob, charlie):
    assert [h.title for h in search_all(user=bob, text="Wartungsvertrag")] == [
        "Wartungsvertrag Kundin"
    ]
    assert search_all(user=bob, text="Familienfest") == []
    assert search_all(user=alice, text="Familienfest") == []
    assert search_all(user=charlie, text="Wartungsvertrag") == []


def test_passwords_are_encrypted_and_never_shown(account, alice, imap_user, api_key_for):
    assert imap_user.password not in account.imap_password_encrypted
    page = client_for(alice).get(f"/mail/accounts/{account.pk}/").content.decode()
    assert imap_user.password not in page
    assert "Stored; leave empty to keep." in page
    headers = {"HTTP_AUTHORIZATION": f"Bearer {api_key_for(alice)}"}
    answer = client_for(alice).get(f"/api/v1/mail/accounts/{account.pk}", **headers)
    assert answer.json()["imap_password_stored"] is True
    assert imap_user.password not in answer.content.decode()
    # Saving the form with the password left empty keeps the stored one.
    client_for(alice).post(
        f"/mail/accounts/{account.pk}/",
        {
            "name": "Alice neu",
            "email_address": account.email_address,
            "imap_host": account.imap_host,
            "imap_port": account.imap_port,
            "imap_security": "none",
            "imap_username": account.imap_username,
            "smtp_host": account.smtp_host,
            "smtp_port": account.smtp_port,
            "smtp_security": "none",
            "folders": "INBOX",
            "sent_folder": "Sent",
            "share_mode": "known",
            "is_active": "on",
        },
    )
    account.refresh_from_db()
    assert account.name == "Alice neu"
    from kreis.core import crypto

    assert crypto.decrypt(account.imap_password_encrypted) == imap_user.password


def test_another_users_account_is_a_404(account, bob):
    assert client_for(bob).get(f"/mail/accounts/{account.pk}/").status_code == 404
