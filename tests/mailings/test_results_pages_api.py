"""What users see of mailings: results after bounces, replies and a one-click unsubscribe;
the test on a sample; who may see and send (web and API); the API with its If-Match; the
suppression list from the web, the API and the command line."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.utils import timezone

from kreis.comms.bounces import Bounce, bounce_record
from kreis.comms.models import Direction, MailAccount, Message, Thread
from kreis.core import crypto
from kreis.core.models import Role
from kreis.mailings import results, services
from kreis.mailings.models import Mailing, MailingState, Recipient, Suppression
from tests.conftest import client_for
from tests.factories import MembershipFactory, UserFactory
from tests.mailings.conftest import CONFIRMED, EXISTING, PENDING, WITHDRAWN

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(mailing, mara, smtp_inbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.mailing_start(actor=mara, mailing=mailing)
    return mailing


def _reply_to(message_id: str, owner) -> None:
    account = MailAccount.objects.create(
        name="Shared",
        email_address="news@kreis.example",
        owner=owner,
        imap_host="127.0.0.1",
        imap_port=143,
        imap_security="none",
        imap_username="news",
        imap_password_encrypted=crypto.encrypt("x"),
        smtp_host="127.0.0.1",
        smtp_port=25,
        smtp_security="none",
        is_active=False,
    )
    thread = Thread.objects.create(account=account, subject="Re: Neuigkeiten")
    Message.objects.create(
        account=account,
        thread=thread,
        message_id="<reply-1@kunde.example>",
        direction=Direction.INBOUND,
        from_address=CONFIRMED,
        subject="Re: Neuigkeiten",
        sent_at=timezone.now(),
        in_reply_to=message_id,
    )


def test_results_count_bounces_replies_and_one_click_unsubscribes(sent, mara, smtp_inbox):
    anna = Recipient.objects.get(mailing=sent, email=CONFIRMED)
    _reply_to(anna.message_id, mara)
    bounce_record(bounce=Bounce(address=EXISTING, status="5.1.1", hard=True, diagnostic="gone"))
    # Anna's mail program uses the List-Unsubscribe header (RFC 8058 one-click POST).
    header = str(smtp_inbox.to(CONFIRMED)[0]["List-Unsubscribe"])
    path = re.search(r"https://crm\.example\.com(/consent/unsubscribe/[^/>]+/)", header)[1]
    response = client_for(mara).__class__().post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200

    page = client_for(mara).get(f"/mailings/{sent.pk}/")
    assert page.status_code == 200
    counts = page.context["counts"]
    assert (counts.sent, counts.bounced, counts.hard_bounced) == (2, 1, 1)
    assert (counts.delivered, counts.replied, counts.unsubscribed, counts.skipped) == (1, 1, 1, 2)
    html = page.content.decode()
    assert "Consent withdrawn" in html
    assert "Consent not yet confirmed" in html


def test_sample_goes_to_the_tester_only_and_is_marked(mailing, mara, smtp_inbox):
    response = client_for(mara).post(
        f"/mailings/{mailing.pk}/sample/", {"to": "mara@kreis.example", "count": 2}
    )
    assert response.status_code == 302
    assert len(smtp_inbox.messages) == 2
    for recipients, message in smtp_inbox.messages:
        assert recipients == ["mara@kreis.example"]
        assert message["Subject"].startswith("[Test] Neuigkeiten für ")
        assert message["X-Kreis-Mailing-Test"] == str(mailing.pk)
    mailing.refresh_from_db()
    assert mailing.state == MailingState.DRAFT
    assert not Recipient.objects.filter(mailing=mailing).exists()


def test_marketing_creates_and_sends_from_the_pages(
    segment, mara, smtp_inbox, django_capture_on_commit_callbacks
):
    client = client_for(mara)
    response = client.post(
        "/mailings/new/",
        {
            "name": "Sommer",
            "segment": segment.pk,
            "purpose": "newsletter",
            "subject": "",
            "body": "Text",
        },
    )
    assert response.status_code == 200  # no subject: the form says so, keeps the text
    assert "enter a subject and a text" in response.content.decode()
    assert response.context["form"]["body"].value() == "Text"
    response = client.post(
        "/mailings/new/",
        {
            "name": "Sommer",
            "segment": segment.pk,
            "purpose": "newsletter",
            "subject": "Hallo",
            "body": "Text",
            "rate": 100,
        },
    )
    mailing = Mailing.objects.get(name="Sommer")
    assert response.url == f"/mailings/{mailing.pk}/"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/mailings/{mailing.pk}/start/")
    assert sorted(r for rcpts, _m in smtp_inbox.messages for r in rcpts) == [CONFIRMED, EXISTING]
    assert client.get(f"/mailings/{mailing.pk}/preview/").status_code == 200


def test_who_may_see_and_send(mailing, alice, rory, charlie, south):
    other_marketer = UserFactory(username="otto", role=Role.MARKETING)
    MembershipFactory(team=south, user=other_marketer)
    # Read-only users see the results but change nothing.
    assert client_for(rory).get(f"/mailings/{mailing.pk}/").status_code == 200
    assert client_for(rory).post(f"/mailings/{mailing.pk}/start/").status_code == 403
    assert client_for(rory).get("/mailings/new/").status_code == 403
    # Sales reps see no mailings at all.
    for user in (alice, charlie):
        assert client_for(user).get("/mailings/").status_code == 403
        assert client_for(user).get(f"/mailings/{mailing.pk}/").status_code == 404
    # Marketing of another team sees, but does not send, Mara's mailing.
    assert client_for(other_marketer).get(f"/mailings/{mailing.pk}/").status_code == 200
    assert client_for(other_marketer).post(f"/mailings/{mailing.pk}/pause/").status_code == 403
    assert (
        client_for(rory).post("/mailings/suppressions/", {"value": "x.example"}).status_code == 403
    )
    mailing.refresh_from_db()
    assert mailing.state == MailingState.DRAFT


def test_api_create_start_results_and_if_match(
    segment, mara, south, api_key_for, smtp_inbox, django_capture_on_commit_callbacks
):
    from django.test import Client

    api = Client(HTTP_AUTHORIZATION=f"Bearer {api_key_for(mara)}")
    created = api.post(
        "/api/v1/mailings",
        {"name": "API", "segment_id": segment.pk, "subject": "Hallo", "body": "Text"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    pk, tag = created.json()["id"], created["ETag"]
    api.patch(f"/api/v1/mailings/{pk}", {"rate": 50}, content_type="application/json")
    stale = api.post(f"/api/v1/mailings/{pk}/start", HTTP_IF_MATCH=tag)
    assert stale.status_code == 412
    assert not smtp_inbox.messages
    with django_capture_on_commit_callbacks(execute=True):
        started = api.post(f"/api/v1/mailings/{pk}/start")
    assert started.status_code == 200
    figures = api.get(f"/api/v1/mailings/{pk}/results").json()
    assert (figures["sent"], figures["skipped"], figures["total"]) == (2, 2, 4)
    skipped = api.get(f"/api/v1/mailings/{pk}/recipients?state=skipped").json()["items"]
    assert {(r["email"], r["skip_reason"]) for r in skipped} == {
        (PENDING, "consent_pending"),
        (WITHDRAWN, "consent_withdrawn"),
    }
    other_marketer = UserFactory(username="otto", role=Role.MARKETING)
    MembershipFactory(team=south, user=other_marketer)
    reader = Client(HTTP_AUTHORIZATION=f"Bearer {api_key_for(other_marketer)}")
    assert reader.get(f"/api/v1/mailings/{pk}").status_code == 200
    assert reader.post(f"/api/v1/mailings/{pk}/pause").status_code == 403
    added = api.post(
        "/api/v1/mailings/suppressions",
        {"value": "Spam@Kunde.example", "reason": "asked"},
        content_type="application/json",
    )
    assert added.status_code == 201
    assert added.json()["value"] == "spam@kunde.example"


def test_suppression_from_the_command_line_and_an_import(mara, tmp_path, capsys):
    call_command("mailings", "suppress", "blocked.example", "--reason", "complaint")
    listing = tmp_path / "list.csv"
    listing.write_text("a@kunde.example,bounced elsewhere\nb@kunde.example\n", encoding="utf-8")
    call_command("mailings", "suppress", "--file", str(listing))
    assert dict(Suppression.objects.values_list("value", "is_domain")) == {
        "blocked.example": True,
        "a@kunde.example": False,
        "b@kunde.example": False,
    }
    bad = tmp_path / "bad.csv"
    bad.write_text("c@kunde.example\nnot an address\n", encoding="utf-8")
    client = client_for(mara)
    with bad.open("rb") as handle:
        client.post("/mailings/suppressions/import/", {"file": handle})
    assert not Suppression.objects.filter(value="c@kunde.example").exists()


def test_results_from_the_command_line(sent, capsys):
    call_command("mailings", "results", str(sent.pk), "--json")
    out = capsys.readouterr().out
    assert '"sent": 2' in out
    assert '"skipped": 2' in out
    assert results.counts(sent).progress == 100
