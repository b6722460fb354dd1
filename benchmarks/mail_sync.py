"""First sync of a large mailbox: N messages (default 10,000) APPENDed to a Dovecot mailbox on
this machine, then synced into Kreis (``kreis.comms.sync.sync_account``: fetch, parse with
HTML, recipients and attachments, store once by Message-ID, thread, link parties, timeline
entries for shared mail). Target (issue 15): ≥ 200 messages/s.

Dovecot is started the way the tests start it (``tests/mailserver.py``: a private server in a
temporary folder on a free loopback port). The mail: plain text and HTML alternatives, every
tenth from a known customer (shared: a party link and a timeline entry), every fiftieth with
a small attachment, replies in threads of five.

Baseline in the same run: fetching and parsing the same messages without storing anything
(``MailSession.fetch`` + ``parse_mail``) — what IMAP and the parser alone cost.

    .venv/bin/python benchmarks/mail_sync.py [--messages 10000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_mail .venv/bin/python \\
        benchmarks/mail_sync.py   # an empty PostgreSQL database (created if missing)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))


def raw_message(n: int, now) -> bytes:
    mail = EmailMessage()
    known = n % 10 == 0
    sender = "erika@kunde.example" if known else f"sender{n % 997}@mail{n % 13}.example"
    mail["From"], mail["To"] = sender, "bench@kreis.example"
    thread = n // 5
    mail["Subject"] = ("Re: " if n % 5 else "") + f"Anfrage {thread}"
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = f"<bench-{n}@kunde.example>"
    if n % 5:
        mail["In-Reply-To"] = f"<bench-{n - 1}@kunde.example>"
        mail["References"] = f"<bench-{thread * 5}@kunde.example> <bench-{n - 1}@kunde.example>"
    text = f"Guten Tag,\n\nNachricht {n} zu Anfrage {thread}.\n" + "Lorem ipsum dolor. " * 20
    mail.set_content(text)
    mail.add_alternative(f"<p>{text}</p><img src='https://tracker.example/{n}.gif'>", "html")
    if n % 50 == 0:
        mail.add_attachment(b"%PDF-1.4 " + bytes(2000), "application", "pdf", filename="a.pdf")
    return mail.as_bytes().replace(b"\n", b"\r\n")


def ensure_postgres_database(url: str) -> None:
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="bench-mail-"))
    os.environ["KREIS_DATA"] = str(data)
    os.environ.setdefault("KREIS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kreis.settings")
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        ensure_postgres_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone
    from tests.mailserver import DovecotServer, dovecot_binary

    from kreis.comms import services
    from kreis.comms.models import Message
    from kreis.comms.sync import sync_account
    from kreis.core.mailfetch import MailSession, parse_mail
    from kreis.core.models import User
    from kreis.parties.models import ContactPoint, Party

    call_command("migrate", verbosity=0)
    if Message.objects.exists():
        sys.exit("the database holds mail already: use an empty one")
    binary = dovecot_binary()
    if binary is None:
        sys.exit("Dovecot is missing: apt-get install dovecot-imapd")
    server = DovecotServer(binary)
    server.start()
    try:
        user = server.new_user()
        client = user.client()
        now = timezone.now()
        started = time.perf_counter()
        for n in range(args.messages):
            client.append("INBOX", raw_message(n, now))
        client.logout()
        print(f"appended {args.messages} messages in {time.perf_counter() - started:.1f} s")

        owner = User.objects.create_user(username="bench")
        party = Party.objects.create(kind="person", name="Erika Kundin", owner=owner)
        ContactPoint.objects.create(party=party, kind="email", value="erika@kunde.example")
        account = services.account_create(
            actor=owner, name="Bench", email_address="bench@kreis.example",
            imap_host=user.host, imap_port=user.port, imap_security="none",
            imap_username=user.username, imap_password=user.password,
        )  # fmt: skip

        # A server process has its URL configuration loaded (search entries link to the
        # message); load it before timing, not inside the first stored message.
        from django.urls import reverse

        reverse("comms:list")

        # Baseline: fetch and parse only.
        started = time.perf_counter()
        with MailSession(services.imap_account(account)) as session:
            box = session.select("INBOX")
            uids = box.new_uids(uidvalidity=None, last_uid=0).uids
            parsed = sum(
                1 for uid, raw in session.fetch(uids) if parse_mail(raw, uid=uid, full=True)
            )
        baseline = time.perf_counter() - started

        started = time.perf_counter()
        result = sync_account(account)
        took = time.perf_counter() - started
        if result.errors:
            sys.exit(f"the sync failed: {result.problems}")
        stored = Message.objects.count()
        shared = Message.objects.filter(is_shared=True).count()
        threads = Message.objects.values("thread").distinct().count()
        print(f"baseline fetch + parse: {parsed} messages in {baseline:.2f} s "
              f"= {parsed / baseline:.0f} messages/s")  # fmt: skip
        print(f"first sync: {stored} messages ({shared} shared, {threads} threads) in {took:.2f} s "
              f"= {stored / took:.0f} messages/s (target ≥ 200)")  # fmt: skip
    finally:
        server.stop()


if __name__ == "__main__":
    main()
