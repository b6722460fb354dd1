"""Generic IMAP fetching (kreis.core.mailfetch): parsing mail as it really arrives, and a poll
against a real IMAP server (Dovecot, tests/mailserver.py)."""

from __future__ import annotations

import pytest

from kreis.core.mailfetch import (
    MailAccount,
    MailFetchError,
    MailParseError,
    MailSession,
    check_account,
    html_to_text,
    parse_mail,
)


def raw(*lines: str | bytes) -> bytes:
    return b"\r\n".join(line.encode() if isinstance(line, str) else line for line in lines)


# --- Parsing ----------------------------------------------------------------------------------


def test_plain_text_mail_with_encoded_sender_and_threading():
    mail = parse_mail(
        raw(
            "From: =?utf-8?q?M=C3=BCller=2C_J=C3=BCrgen?= <J.Mueller@Example.DE>",
            "Subject: =?iso-8859-1?q?Beschwerde_=FCber_die_Lieferung?=",
            "Date: Mon, 07 Dec 2026 09:30:00 +0100",
            "Message-ID:  <abc@mail.example.de>",
            "In-Reply-To: <kreis-1@kreis.example>",
            "References: <first@x> <kreis-1@kreis.example>",
            "Content-Language: de-DE",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
            "",
            "Die Pumpe ist undicht. Gr=C3=BC=C3=9Fe",
        ),
        uid=7,
    )
    assert mail.uid == 7
    assert (mail.from_address, mail.from_name) == ("j.mueller@example.de", "Müller, Jürgen")
    assert mail.subject == "Beschwerde über die Lieferung"
    assert mail.date.isoformat() == "2026-12-07T09:30:00+01:00"
    assert mail.message_id == "<abc@mail.example.de>"
    assert mail.in_reply_to == "<kreis-1@kreis.example>"
    assert mail.references == ("<first@x>", "<kreis-1@kreis.example>")
    assert mail.thread_ids == ("<kreis-1@kreis.example>", "<first@x>")
    assert mail.text == "Die Pumpe ist undicht. Grüße"
    assert mail.content_language == "de-de"
    assert not mail.auto_submitted
    assert len(mail.fingerprint) == 64


def test_text_and_headers_in_a_charset_other_than_declared():
    mail = parse_mail(
        raw(
            "From: J\xfcrgen <j@example.de>".encode("latin-1"),
            "Subject: \xc4rger mit der Rechnung".encode("latin-1"),
            "Content-Type: text/plain; charset=us-ascii",
            "",
            "Sehr geehrte Damen und Herren, die Rechnung ist f\xfcr mich \xe4rgerlich.".encode(
                "latin-1"
            ),
        )
    )
    assert mail.from_name == "Jürgen"
    assert mail.subject == "Ärger mit der Rechnung"
    assert "für mich ärgerlich" in mail.text
    assert mail.message_id == ""


def test_unknown_charset_and_nul_bytes_do_not_lose_the_text():
    mail = parse_mail(
        raw(
            "From: a@example.com",
            "Subject: =?x-unknown?q?Kaputt?=",
            "Content-Type: text/plain; charset=x-unknown",
            "",
            b"Kaputt \xe2\x82\xac\x00 ok",
        )
    )
    assert mail.text == "Kaputt € ok"


def test_plain_text_is_preferred_to_html():
    mail = parse_mail(
        raw(
            "From: a@example.com",
            "Subject: x",
            'Content-Type: multipart/alternative; boundary="b"',
            "",
            "--b",
            "Content-Type: text/html; charset=utf-8",
            "",
            "<p>HTML</p>",
            "--b",
            "Content-Type: text/plain; charset=utf-8",
            "",
            "Plain",
            "--b--",
        )
    )
    assert mail.text == "Plain"


def test_html_only_mail_becomes_safe_text():
    mail = parse_mail(
        raw(
            "From: a@example.com",
            "Subject: x",
            "Content-Type: text/html; charset=utf-8",
            "",
            "<html><head><style>p{color:red}</style><title>T</title></head><body>"
            "<script>alert(1)</script><p>Sehr geehrte&nbsp;Damen &amp; Herren,</p>"
            "<p>die Pumpe<br>leckt.</p><ul><li>eins</li><li>zwei</li></ul>"
            "<img src=x onerror=alert(2)></body></html>",
        )
    )
    assert mail.text == "Sehr geehrte Damen & Herren,\n\ndie Pumpe\nleckt.\n\n- eins\n- zwei"
    assert "alert" not in mail.text
    assert "<" not in mail.text


def test_html_to_text_keeps_the_lines_of_preformatted_text():
    assert html_to_text("<p>Log:</p><pre>a  b\n c</pre>") == "Log:\n\na b\nc"


def test_attachments_are_not_the_text():
    mail = parse_mail(
        raw(
            "From: a@example.com",
            "Subject: x",
            'Content-Type: multipart/mixed; boundary="b"',
            "",
            "--b",
            "Content-Type: text/plain; charset=utf-8",
            "",
            "See the photo.",
            "--b",
            "Content-Type: text/plain; name=log.txt",
            "Content-Disposition: attachment; filename=log.txt",
            "",
            "secret log",
            "--b--",
        )
    )
    assert mail.text == "See the photo."


@pytest.mark.parametrize(
    ("header", "automatic"),
    [
        ("Auto-Submitted: auto-replied", True),
        ("Auto-Submitted: auto-generated", True),
        ("Auto-Submitted: no", False),
        ("X-Autoreply: yes", True),
        ("Precedence: bulk", True),
        ("Precedence: junk", True),
        ("Return-Path: <>", True),
        ("X-Mailer: Outlook", False),
    ],
)
def test_automatic_mail_is_recognised(header, automatic):
    mail = parse_mail(raw("From: a@example.com", header, "Subject: x", "", "text"))
    assert mail.auto_submitted is automatic


def test_bounces_are_automatic():
    report = parse_mail(
        raw(
            "From: MAILER-DAEMON@mx.example.com",
            "Subject: Undelivered Mail",
            'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
            "",
            "--b",
            "Content-Type: text/plain",
            "",
            "failed",
            "--b--",
        )
    )
    assert report.auto_submitted


def test_a_mail_without_sender_or_content():
    mail = parse_mail(raw("Subject: x", "", "text"))
    assert (mail.from_address, mail.text) == ("", "text")
    with pytest.raises(MailParseError):
        parse_mail(b"  \r\n")


# --- Against Dovecot --------------------------------------------------------------------------


def account(imap_user, **extra) -> MailAccount:
    values = {
        "host": imap_user.host,
        "port": imap_user.port,
        "security": "none",
        "username": imap_user.username,
        "password": imap_user.password,
        "timeout": 10,
    } | extra
    return MailAccount(**values)


def message(number: int) -> str:
    return (
        f"From: a@example.com\nSubject: Mail {number}\nMessage-ID: <{number}@x>\n\nText {number}\n"
    )


def test_incremental_fetch_in_batches_and_marking_seen(imap_user):
    for number in range(1, 6):
        imap_user.deliver(message(number))
    with MailSession(account(imap_user)) as session:
        folder = session.select("INBOX")
        first = folder.new_uids(uidvalidity=None, last_uid=0)
        assert first.uids == [1, 2, 3, 4, 5]
        assert not first.restarted
        fetched = [
            (uid, parse_mail(data, uid=uid))
            for uid, data in session.fetch([2, 3, 4], batch_count=2)
        ]
        assert [(uid, m.subject) for uid, m in fetched] == [
            (2, "Mail 2"),
            (3, "Mail 3"),
            (4, "Mail 4"),
        ]
        # Fetching does not mark anything read; marking does.
        assert imap_user.uids(criteria="UNSEEN") == [1, 2, 3, 4, 5]
        session.mark_processed([2, 3])
        assert imap_user.uids(criteria="UNSEEN") == [1, 4, 5]
        # Above the last UID: the highest UID is not answered again (RFC 9051 "n:*").
        later = folder.new_uids(uidvalidity=folder.uidvalidity, last_uid=5)
        assert later.uids == []
        assert folder.new_uids(uidvalidity=folder.uidvalidity, last_uid=3).uids == [4, 5]
        # Another UIDVALIDITY: start over.
        again = folder.new_uids(uidvalidity=folder.uidvalidity + 1, last_uid=5)
        assert again.restarted
        assert again.uids == [1, 2, 3, 4, 5]


def test_moving_to_a_processed_folder_that_is_made_on_the_way(imap_user):
    imap_user.deliver(message(1))
    imap_user.deliver(message(2))
    with MailSession(account(imap_user)) as session:
        session.select("INBOX")
        session.mark_processed([1], "Done")
    assert imap_user.uids("INBOX") == [2]
    assert imap_user.uids("Done") == [1]


def test_connection_problems_are_told_plainly(imap_user):
    with pytest.raises(MailFetchError, match="user name or password"):
        check_account(account(imap_user, password="wrong"), "INBOX")
    with pytest.raises(MailFetchError, match="folder “Nope”"):
        check_account(account(imap_user), "Nope")
    with pytest.raises(MailFetchError, match="Cannot connect"):
        check_account(account(imap_user, port=1), "INBOX")
    with pytest.raises(MailFetchError, match="only allowed to this machine"):
        check_account(account(imap_user, host="imap.example.com"), "INBOX")
    with pytest.raises(MailFetchError, match="metadata"):
        check_account(account(imap_user, host="169.254.169.254", security="ssl"), "INBOX")
    assert check_account(account(imap_user), "INBOX").exists == 0
