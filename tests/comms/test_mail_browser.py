"""Two-way e-mail in Chromium: (a) alice connects her mailbox on the test's Dovecot through the
page, syncs, and a mail from her customer Erika shows on Erika's timeline; (b) she replies from
the thread: the reply reaches the test's SMTP server (aiosmtpd) and is in the thread."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from kreis.comms.models import MailAccount, Message
from tests.browser.test_shell_browser import SHOTS, sign_in
from tests.comms.conftest import CUSTOMER, mail

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_connect_a_mailbox_and_see_the_customers_mail_on_her_timeline(
    page, live_server, alice, customer, imap_user
):
    imap_user.deliver(mail(subject="Frage zur Wartung", body="Wann kommt der Techniker?"))
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/mail/accounts/new/")
    form = {
        "name": "Mein Postfach",
        "email_address": "alice@kreis.example",
        "imap_host": imap_user.host,
        "imap_port": str(imap_user.port),
        "imap_username": imap_user.username,
        "imap_password": imap_user.password,
        "folders": "INBOX",
    }
    for name, value in form.items():
        page.fill(f"[name={name}]", value)
    page.select_option("[name=imap_security]", "none")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".alert-success")).to_contain_text("The account is saved")
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator(".alert-success")).to_contain_text("The connection works")
    page.get_by_role("button", name="Sync now").click()  # the job runs at once in tests
    expect(page.locator("[data-testid=sync-progress]")).to_contain_text("Last sync")
    assert imap_user.password not in page.content()

    page.goto(f"{live_server.url}/parties/{customer.pk}/")
    timeline = page.locator("li.kreis-activity[data-kind=email]")
    expect(timeline).to_contain_text("Frage zur Wartung")
    expect(page.locator("[data-testid=party-mail]")).to_contain_text("Frage zur Wartung")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "mail-party-timeline.png"), full_page=True)
    assert MailAccount.objects.get().owner == alice


def test_reply_from_kreis_reaches_the_smtp_server_and_the_thread(
    page, live_server, alice, customer, account, imap_user, smtp_inbox
):
    from kreis.comms.sync import sync_account

    imap_user.deliver(mail(subject="Angebot bitte", html="<p>Bitte ein <b>Angebot</b></p>"))
    sync_account(account)
    question = Message.objects.get()
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/mail/messages/{question.pk}/")
    expect(page.frame_locator("iframe.kreis-mail-body").locator("b")).to_have_text("Angebot")
    page.get_by_role("link", name="Reply", exact=True).click()
    expect(page.locator("[name=to]")).to_have_value(CUSTOMER)
    expect(page.locator("[name=subject]")).to_have_value("Re: Angebot bitte")
    page.fill("[name=body]", "Gern, das Angebot kommt morgen.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("[data-testid=message]")).to_have_count(2)
    expect(page.locator("[data-testid=thread]")).to_contain_text("Gern, das Angebot kommt morgen.")

    recipients, sent = smtp_inbox.messages[0]
    assert recipients == [CUSTOMER]
    assert sent["In-Reply-To"] == question.message_id
    assert len(imap_user.uids("Sent")) == 1
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "mail-thread.png"), full_page=True)
