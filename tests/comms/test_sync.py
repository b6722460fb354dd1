"""Syncing a mailbox on the test process's real Dovecot: first and incremental sync, a
folder whose UIDVALIDITY changed, threads, parties and the timeline, attachments."""

from __future__ import annotations

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.management import call_command

from kreis.activities.models import Activity, ActivityKind
from kreis.comms.models import Attachment, FolderState, Message
from kreis.comms.sync import sync_account
from tests.comms.conftest import CUSTOMER, mail
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_first_sync_takes_inbox_and_sent_and_puts_shared_mail_on_the_timeline(
    account, imap_user, customer
):
    imap_user.deliver(mail(subject="Anfrage Wartung"))
    imap_user.deliver(
        mail(sender="alice@kreis.example", to=CUSTOMER, subject="Ihr Angebot"), "Sent"
    )

    result = sync_account(account)

    assert (result.stored, result.errors) == (2, 0), result.problems
    inbound = Message.objects.get(subject="Anfrage Wartung")
    outbound = Message.objects.get(subject="Ihr Angebot")
    assert (inbound.direction, outbound.direction) == ("inbound", "outbound")
    assert list(inbound.parties.all()) == [customer]
    timeline = Activity.objects.filter(party=customer, kind=ActivityKind.EMAIL)
    assert sorted(timeline.values_list("direction", flat=True)) == ["inbound", "outbound"]
    assert f"/mail/messages/{inbound.pk}/" in inbound.activity.body
    account.refresh_from_db()
    assert (account.sync_done, account.sync_total, account.sync_running) == (2, 2, False)


def test_a_second_sync_takes_only_the_new_mail(account, imap_user, customer):
    imap_user.deliver(mail(subject="Eins"))
    sync_account(account)
    imap_user.deliver(mail(subject="Zwei"))

    result = sync_account(account)

    assert (result.stored, result.skipped) == (1, 0)
    assert Message.objects.count() == 2
    state = FolderState.objects.get(account=account, name="INBOX")
    assert state.last_uid == max(imap_user.uids())


def test_a_changed_uidvalidity_reads_the_folder_again_without_duplicates(
    account, imap_user, customer
):
    account.folders = "INBOX, Projekte"
    account.save()
    first = mail(subject="Projekt Alpha")
    imap_user.deliver(first, "Projekte")
    sync_account(account)
    old = FolderState.objects.get(account=account, name="Projekte").uidvalidity

    imap_user.recreate_folder("Projekte")  # restored from a backup: new UIDVALIDITY
    imap_user.deliver(first, "Projekte")
    imap_user.deliver(mail(subject="Projekt Beta"), "Projekte")
    result = sync_account(account)

    assert (result.stored, result.skipped, result.errors) == (1, 1, 0)
    assert FolderState.objects.get(account=account, name="Projekte").uidvalidity != old
    assert sorted(Message.objects.values_list("subject", flat=True)) == [
        "Projekt Alpha",
        "Projekt Beta",
    ]


def test_replies_join_the_thread_by_references_and_by_subject(account, imap_user, customer):
    imap_user.deliver(mail(subject="Lieferung", message_id="<q1@kunde.example>"))
    imap_user.deliver(
        mail(
            sender="alice@kreis.example",
            to=CUSTOMER,
            subject="AW: Lieferung",
            message_id="<a1@kreis.example>",
            in_reply_to="<q1@kunde.example>",
        ),
        "Sent",
    )
    # A client that drops the references: the same subject and people keep it together.
    imap_user.deliver(mail(subject="Re: Lieferung"))
    imap_user.deliver(mail(subject="Rechnung"))

    sync_account(account)

    threads = {m.subject: m.thread_id for m in Message.objects.all()}
    assert threads["Lieferung"] == threads["AW: Lieferung"] == threads["Re: Lieferung"]
    assert threads["Rechnung"] != threads["Lieferung"]


def test_attachments_are_stored_and_downloaded_only_by_permitted_users(
    account, imap_user, customer, alice, charlie
):
    imap_user.deliver(
        mail(attachments=[("../../etc/Angebot Nr.1.pdf", "application/pdf", b"%PDF-1.4 demo")])
    )
    sync_account(account)
    attachment = Attachment.objects.get()
    assert attachment.filename == "Angebot_Nr.1.pdf"
    assert attachment.size == len(b"%PDF-1.4 demo")

    response = client_for(alice).get(f"/mail/attachments/{attachment.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 demo"
    assert response["Content-Disposition"].startswith("attachment;")
    assert client_for(charlie).get(f"/mail/attachments/{attachment.pk}/").status_code == 404


def test_the_cli_syncs_every_active_account(account, imap_user, customer, capsys):
    imap_user.deliver(mail(subject="Per Kommandozeile"))
    call_command("mail", "sync")
    assert "new 1" in capsys.readouterr().out
    assert Message.objects.filter(subject="Per Kommandozeile").exists()


def test_a_wrong_password_is_a_clear_error_on_test_connection(account, alice):
    from kreis.comms import services

    services.account_update(actor=alice, account=account, imap_password="wrong")
    response = client_for(alice).post(f"/mail/accounts/{account.pk}/test/", follow=True)
    assert "The connection failed. IMAP: The server refused the user name or password" in (
        response.content.decode()
    )


def test_a_mail_that_cannot_be_stored_is_reported_and_the_rest_of_its_batch_is_kept(
    account, imap_user, customer, monkeypatch
):
    imap_user.deliver(mail(subject="Erste"))
    imap_user.deliver(mail(subject="Kaputt", attachments=[("kaputt.pdf", "application/pdf", b"x")]))
    imap_user.deliver(mail(subject="Re: Erste"))
    save = FileSystemStorage.save

    def disk_refuses(storage, name, content, max_length=None):  # the disk, not our code
        if "kaputt" in name:
            raise OSError("No space left on device")
        return save(storage, name, content, max_length=max_length)

    monkeypatch.setattr(FileSystemStorage, "save", disk_refuses)

    result = sync_account(account)

    assert (result.stored, result.errors) == (2, 1)
    failed = imap_user.uids()[1]
    assert result.problems == [f"Mail {failed} in INBOX: No space left on device"]
    assert sorted(Message.objects.values_list("subject", flat=True)) == ["Erste", "Re: Erste"]
    assert Message.objects.values("thread").distinct().count() == 1
    assert Activity.objects.filter(party=customer).count() == 2
    assert FolderState.objects.get(account=account, name="INBOX").last_uid == failed + 1
