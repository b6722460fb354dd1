"""The complaint mailbox against a real IMAP server (Dovecot, tests/mailserver.py): mail in the
folder becomes cases and messages, once, whatever happens to the folder."""

from __future__ import annotations

import io

import pytest
from django.core import mail as outbox
from django.core.management import call_command
from django.core.management.base import CommandError

from kreis.core import crypto
from kreis.parties.models import ContactKind
from kreis.parties.services import party_create
from kreis.service import services
from kreis.service.mailbox import mailbox_set_password, poll_active_mailboxes, poll_mailbox
from kreis.service.models import (
    Case,
    CaseMessage,
    CaseStatus,
    Channel,
    ComplaintMailbox,
    MessageKind,
)

pytestmark = pytest.mark.django_db


def make_mailbox(imap_user, category=None, **extra) -> ComplaintMailbox:
    mailbox = ComplaintMailbox(
        name=extra.pop("name", "Complaints"),
        host=imap_user.host,
        port=imap_user.port,
        security="none",
        username=imap_user.username,
        category=category,
        **extra,
    )
    mailbox_set_password(mailbox=mailbox, password=imap_user.password)
    mailbox.save()
    return mailbox


def mail(
    *,
    sender="Anna Ahrens <anna@example.com>",
    subject="Pump leaks",
    body="The pump I bought leaks since Monday.",
    message_id="<m1@example.com>",
    headers="",
) -> str:
    lines = [f"From: {sender}"] if sender else []
    lines += [
        "To: complaints@kreis.example",
        f"Subject: {subject}",
        "Date: Mon, 07 Dec 2026 09:30:00 +0100",
    ]
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    if headers:
        lines.append(headers.strip())
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "", body, ""]
    return "\n".join(lines)


@pytest.fixture
def anna(db):
    return party_create(
        actor=None,
        kind="person",
        first_name="Anna",
        last_name="Ahrens",
        emails=[{"value": "anna@example.com"}],
    )


def test_new_mail_becomes_a_case_of_the_known_sender(
    imap_user, anna, defect, sam, django_capture_on_commit_callbacks
):
    imap_user.deliver(mail())
    mailbox = make_mailbox(imap_user, category=defect)

    with django_capture_on_commit_callbacks(execute=True):
        result = poll_mailbox(mailbox)

    assert (result.created, result.added, result.skipped, result.errors) == (1, 0, 0, 0)
    case = Case.objects.get()
    assert case.party == anna
    assert case.channel == Channel.EMAIL
    assert case.category == defect
    assert case.subject == "Pump leaks"
    assert case.description == "The pump I bought leaks since Monday."
    assert case.owner == sam  # assigned as from every channel
    first = case.messages.order_by("created_at", "pk").first()
    assert first.kind == MessageKind.CUSTOMER_MESSAGE
    assert first.email_message_id == "<m1@example.com>"
    # The customer got the acknowledgement, after the mail in the timeline.
    assert [m.to for m in outbox.outbox] == [["anna@example.com"]]
    assert list(case.messages.values_list("kind", flat=True)) == [
        MessageKind.CUSTOMER_MESSAGE,
        MessageKind.CUSTOMER_REPLY,
    ]
    mailbox.refresh_from_db()
    assert mailbox.last_uid == 1
    assert mailbox.uidvalidity == imap_user.uidvalidity()
    assert mailbox.last_polled_at is not None
    assert mailbox.last_error == ""
    assert imap_user.uids(criteria="UNSEEN") == []  # flagged \Seen, still in the folder
    assert imap_user.uids() == [1]


def test_unknown_sender_becomes_a_new_person(imap_user, defect):
    imap_user.deliver(mail(sender="=?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <JM@Example.org>"))
    make_mailbox(imap_user)  # no category: the first active one

    poll_active_mailboxes()

    case = Case.objects.get()
    person = case.party
    assert person.kind == "person"
    assert (person.first_name, person.last_name) == ("Jürgen", "Müller")
    assert list(person.contact_points.values_list("kind", "value")) == [
        (ContactKind.EMAIL, "jm@example.org")
    ]
    assert list(person.role_assignments.values_list("role", flat=True)) == ["customer"]
    assert case.category.is_active


def test_reply_with_the_case_number_is_added_to_that_case(imap_user, anna, defect):
    case = services.case_create(
        actor=None, channel=Channel.PHONE, category=defect, subject="Leak", party=anna
    )
    imap_user.deliver(
        mail(subject=f"Re: Your complaint {case.number}: Leak", body="Still leaking!")
    )
    mailbox = make_mailbox(imap_user, category=defect)

    result = poll_mailbox(mailbox)

    assert (result.created, result.added) == (0, 1)
    assert Case.objects.count() == 1
    message = case.messages.get(kind=MessageKind.CUSTOMER_MESSAGE)
    assert message.body == "Still leaking!"
    assert message.email_message_id == "<m1@example.com>"


def test_customer_mail_reopens_a_closed_case(imap_user, anna, defect, root_cause):
    case = services.case_create(
        actor=None, channel=Channel.PHONE, category=defect, subject="Leak", party=anna
    )
    for status in (CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED, CaseStatus.CLOSED):
        case = services.case_transition(
            actor=None, case=case, to_status=status, root_cause=root_cause
        )
    imap_user.deliver(mail(subject=f"{case.number} is not solved", body="It leaks again."))
    imap_user.deliver(
        mail(
            sender="Mallory <mallory@example.net>",
            subject=f"{case.number}",
            body="Reopen this.",
            message_id="<m2@example.net>",
        )
    )

    result = poll_mailbox(make_mailbox(imap_user, category=defect))

    assert (result.created, result.added, result.errors) == (0, 2, 0)
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_PROGRESS
    assert case.closed_at is None
    reopening = case.transitions.order_by("-pk").first()
    assert (reopening.from_status, reopening.to_status) == (
        CaseStatus.CLOSED,
        CaseStatus.IN_PROGRESS,
    )
    assert reopening.note
    bodies = list(
        case.messages.filter(kind=MessageKind.CUSTOMER_MESSAGE).values_list("body", flat=True)
    )
    assert bodies[0] == "It leaks again."
    # A stranger who knows the number adds a marked message and reopens nothing.
    assert "mallory@example.net" in bodies[1]
    assert bodies[1].endswith("Reopen this.")
    assert case.transitions.filter(to_status=CaseStatus.IN_PROGRESS).count() == 2


def test_a_second_poll_takes_nothing_twice(imap_user, anna, defect):
    imap_user.deliver(mail())
    mailbox = make_mailbox(imap_user, category=defect)
    poll_mailbox(mailbox)
    # As if the poll had not remembered how far it got (a crash before the commit of the UID).
    ComplaintMailbox.objects.filter(pk=mailbox.pk).update(last_uid=0)
    mailbox.refresh_from_db()

    again = poll_mailbox(mailbox)

    assert (again.created, again.added, again.skipped) == (0, 0, 1)
    assert Case.objects.count() == 1
    assert CaseMessage.objects.filter(email_message_id="<m1@example.com>").count() == 1


def test_mail_without_message_id_is_recognised_by_its_content(imap_user, anna, defect):
    imap_user.deliver(mail(message_id=""))
    mailbox = make_mailbox(imap_user, category=defect)
    poll_mailbox(mailbox)
    ComplaintMailbox.objects.filter(pk=mailbox.pk).update(last_uid=0)
    mailbox.refresh_from_db()

    assert poll_mailbox(mailbox).skipped == 1
    assert Case.objects.count() == 1
    key = CaseMessage.objects.get(kind=MessageKind.CUSTOMER_MESSAGE).email_message_id
    assert key.endswith("@kreis.invalid>")


def test_uidvalidity_change_starts_over_without_duplicates(imap_user, anna, defect):
    imap_user.deliver(mail(), folder="Complaints")
    mailbox = make_mailbox(imap_user, category=defect, folder="Complaints")
    poll_mailbox(mailbox)
    mailbox.refresh_from_db()
    old_validity = mailbox.uidvalidity
    # The folder is recreated (restored from a backup, moved to another server): the same mail
    # comes back under UID 1, a new one gets UID 2 — both below the remembered last UID + 1.
    imap_user.recreate_folder("Complaints")
    imap_user.deliver(mail(), folder="Complaints")
    imap_user.deliver(
        mail(subject="Wrong invoice", message_id="<m2@example.com>"), folder="Complaints"
    )
    ComplaintMailbox.objects.filter(pk=mailbox.pk).update(last_uid=5)
    mailbox.refresh_from_db()

    result = poll_mailbox(mailbox)

    assert (result.created, result.skipped, result.errors) == (1, 1, 0)
    assert sorted(Case.objects.values_list("subject", flat=True)) == ["Pump leaks", "Wrong invoice"]
    mailbox.refresh_from_db()
    assert mailbox.uidvalidity != old_validity
    assert mailbox.uidvalidity == imap_user.uidvalidity("Complaints")
    assert mailbox.last_uid == 2


def test_processed_mail_moves_to_the_processed_folder(imap_user, anna, defect):
    imap_user.deliver(mail())
    imap_user.deliver(mail(subject="Second", message_id="<m2@example.com>"))
    mailbox = make_mailbox(imap_user, category=defect, processed_folder="Kreis/Done")

    result = poll_mailbox(mailbox)

    assert result.created == 2
    assert imap_user.uids("INBOX") == []
    # Created, with the server's separator (Dovecot's Maildir separates with ".").
    assert len(imap_user.uids("Kreis.Done")) == 2


def test_a_broken_mail_does_not_stop_the_others(imap_user, anna, defect):
    imap_user.deliver(mail(subject="First", message_id="<a@example.com>"))
    imap_user.deliver(mail(sender="", subject="No sender", message_id="<b@example.com>"))
    imap_user.deliver(
        b"From: Anna Ahrens <anna@example.com>\r\nSubject: =?x-unknown?q?Kaputt?=\r\n"
        b"Message-ID: <c@example.com>\r\nContent-Type: text/plain; charset=x-unknown\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\nDie Pumpe ist defekt \xfc\xe4\xf6\x00.\r\n"
    )
    imap_user.deliver(mail(subject="Last", message_id="<d@example.com>"))
    mailbox = make_mailbox(imap_user, category=defect)

    result = poll_mailbox(mailbox)

    assert (result.created, result.errors) == (3, 1)
    assert Case.objects.filter(subject="First").exists()
    assert Case.objects.filter(subject="Last").exists()
    odd = Case.objects.exclude(subject__in=["First", "Last"]).get()
    assert odd.description.startswith("Die Pumpe ist defekt")
    assert "\x00" not in odd.description
    mailbox.refresh_from_db()
    assert "Mail 2" in mailbox.last_error
    assert "sender" in mailbox.last_error
    assert mailbox.last_uid == 4  # not fetched again and again
    assert imap_user.uids(criteria="UNSEEN") == [2]  # left for a person to look at


def test_auto_replies_bounces_and_own_mail_are_skipped(imap_user, anna, defect, settings):
    settings.DEFAULT_FROM_EMAIL = "Kreis <kreis@kreis.example>"
    imap_user.deliver(mail(headers="Auto-Submitted: auto-replied", message_id="<a@x>"))
    imap_user.deliver(mail(sender="Kreis <kreis@kreis.example>", message_id="<b@x>"))
    imap_user.deliver(
        mail(sender="MAILER-DAEMON@mx.example.com", subject="Undelivered", message_id="<c@x>")
    )
    imap_user.deliver(mail(headers="Precedence: bulk", message_id="<d@x>"))

    result = poll_mailbox(make_mailbox(imap_user, category=defect))

    assert (result.created, result.skipped, result.errors) == (0, 4, 0)
    assert not Case.objects.exists()
    assert imap_user.uids(criteria="UNSEEN") == []


def test_wrong_password_is_recorded_on_the_mailbox(imap_user, defect):
    imap_user.deliver(mail())
    mailbox = make_mailbox(imap_user, category=defect)
    mailbox_set_password(mailbox=mailbox, password="wrong")
    mailbox.save()

    result = poll_mailbox(mailbox)

    assert result.errors == 1
    mailbox.refresh_from_db()
    assert "password" in mailbox.last_error
    assert mailbox.last_polled_at is not None
    assert not Case.objects.exists()


def test_password_that_cannot_be_decrypted_says_so(imap_user, defect, settings):
    mailbox = make_mailbox(imap_user, category=defect)
    settings.KREIS_CREDENTIALS_KEY = "5fG6v3bqF0yR8h3mQ9kZ2lW1xC7pT4sN0uJ6eA8dB2o="

    result = poll_mailbox(mailbox)

    assert result.errors == 1
    mailbox.refresh_from_db()
    assert "cannot be decrypted" in mailbox.last_error


def test_the_periodic_job_polls_the_active_mailboxes(imap_user, anna, defect):
    from kreis.service.tasks import poll_complaint_mailboxes

    imap_user.deliver(mail())
    make_mailbox(imap_user, category=defect)
    make_mailbox(imap_user, category=defect, name="Inactive", is_active=False)

    poll_complaint_mailboxes()

    assert Case.objects.count() == 1


def test_the_job_runs_every_five_minutes():
    import datetime as dt

    from huey.contrib.djhuey import HUEY

    from kreis.service.tasks import poll_complaint_mailboxes

    job = poll_complaint_mailboxes.task_class
    assert job in HUEY._registry._periodic_tasks
    minutes = [m for m in range(60) if job().validate_datetime(dt.datetime(2026, 12, 7, 9, m))]  # noqa: DTZ001
    assert minutes == list(range(0, 60, 5))


def test_cli_polls_a_mailbox_and_prints_a_summary(imap_user, anna, defect):
    imap_user.deliver(mail())
    imap_user.deliver(mail(sender="", message_id="<b@example.com>"))
    make_mailbox(imap_user, category=defect, name="Support")
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError, match="1 error"):
        call_command("cases", "poll-mailbox", "--mailbox", "Support", stdout=out, stderr=err)

    assert "Support: created 1, added 0, skipped 0, errors 1" in out.getvalue()
    assert "total: created 1, added 0, skipped 0, errors 1" in out.getvalue()
    assert "Mail 2" in err.getvalue()
    out = io.StringIO()
    call_command("cases", "poll-mailbox", stdout=out)
    assert "total: created 0, added 0, skipped 0, errors 0" in out.getvalue()
    with pytest.raises(CommandError, match="no complaint mailbox named"):
        call_command("cases", "poll-mailbox", "--mailbox", "Nope")


# --- The admin ------------------------------------------------------------------------------


@pytest.fixture
def admin_client(db):
    from tests.conftest import client_for
    from tests.factories import UserFactory

    return client_for(UserFactory(username="root", is_staff=True, is_superuser=True))


def test_admin_stores_the_password_encrypted_and_never_shows_it(imap_user, admin_client, defect):
    response = admin_client.post(
        "/django-admin/service/complaintmailbox/add/",
        {
            "name": "Support",
            "is_active": "on",
            "host": imap_user.host,
            "port": imap_user.port,
            "security": "none",
            "username": imap_user.username,
            "password": imap_user.password,
            "folder": "INBOX",
            "processed_folder": "",
            "category": defect.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    mailbox = ComplaintMailbox.objects.get()
    assert imap_user.password not in mailbox.password_encrypted
    assert crypto.decrypt(mailbox.password_encrypted) == imap_user.password

    page = admin_client.get(f"/django-admin/service/complaintmailbox/{mailbox.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200
    assert imap_user.password not in html
    assert mailbox.password_encrypted not in html
    assert 'name="password"' in html

    # Saved again with an empty password field: the stored one stays.
    token = mailbox.password_encrypted
    response = admin_client.post(
        f"/django-admin/service/complaintmailbox/{mailbox.pk}/change/",
        {
            "name": "Support desk",
            "is_active": "on",
            "host": imap_user.host,
            "port": imap_user.port,
            "security": "none",
            "username": imap_user.username,
            "password": "",
            "folder": "INBOX",
            "processed_folder": "",
            "category": defect.pk,
        },
    )
    assert response.status_code == 302
    mailbox.refresh_from_db()
    assert mailbox.name == "Support desk"
    assert mailbox.password_encrypted == token


def test_admin_refuses_clear_text_to_another_machine_and_a_missing_password(admin_client):
    response = admin_client.post(
        "/django-admin/service/complaintmailbox/add/",
        {
            "name": "Remote",
            "host": "imap.example.com",
            "port": 143,
            "security": "none",
            "username": "support",
            "password": "",
            "folder": "INBOX",
        },
    )
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "security" in form.errors
    assert "password" in form.errors
    assert not ComplaintMailbox.objects.exists()


def test_admin_action_tests_the_connection(imap_user, admin_client, defect):
    good = make_mailbox(imap_user, category=defect, name="Good")
    bad = make_mailbox(imap_user, category=defect, name="Bad")
    mailbox_set_password(mailbox=bad, password="wrong")
    bad.save()

    response = admin_client.post(
        "/django-admin/service/complaintmailbox/",
        {"action": "test_connection", "_selected_action": [good.pk, bad.pk]},
        follow=True,
    )

    texts = [str(m) for m in response.context["messages"]]
    assert any(t.startswith("Good: connected") for t in texts), texts
    assert any(t.startswith("Bad:") and "password" in t for t in texts), texts


def test_admin_pages_list_and_open_mailboxes(imap_user, admin_client, defect):
    mailbox = make_mailbox(imap_user, category=defect)
    assert admin_client.get("/django-admin/service/complaintmailbox/").status_code == 200
    change = f"/django-admin/service/complaintmailbox/{mailbox.pk}/change/"
    assert admin_client.get(change).status_code == 200


def test_mailbox_admin_is_for_administrators_only(imap_user, defect, alice, dana):
    from tests.conftest import client_for

    mailbox = make_mailbox(imap_user, category=defect)
    url = f"/django-admin/service/complaintmailbox/{mailbox.pk}/change/"
    alice.is_staff = True
    alice.save()
    assert client_for(alice).get(url).status_code == 403
    assert alice.has_perm("service.change_complaintmailbox") is False
    assert dana.has_perm("service.change_complaintmailbox") is True
