"""In Chromium: after a mailing went out, its marketing owner filters the recipients to the
skipped ones and reads why each was left out — the withdrawn consent, the unconfirmed one —
while the confirmed customer is among those sent."""

import pytest
from playwright.sync_api import expect

from kreis.mailings import sending, services
from tests.browser.test_shell_browser import sign_in
from tests.mailings.conftest import CONFIRMED, EXISTING, PENDING, WITHDRAWN

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_skipped_recipients_show_why(page, live_server, mailing, mara, smtp_inbox):
    services.mailing_start(actor=mara, mailing=mailing)
    sending.run(mailing.pk)
    assert sorted(r for rcpts, _m in smtp_inbox.messages for r in rcpts) == [CONFIRMED, EXISTING]

    sign_in(page, live_server, "mara")
    page.goto(f"{live_server.url}/mailings/{mailing.pk}/")
    rows = page.locator("[data-testid=recipient-list] tbody tr")
    expect(rows).to_have_count(4)
    page.get_by_label("State").select_option("skipped")  # the list reloads in place
    expect(rows).to_have_count(2)
    expect(page.locator(f'tr[data-email="{WITHDRAWN}"]')).to_contain_text("Consent withdrawn")
    expect(page.locator(f'tr[data-email="{PENDING}"]')).to_contain_text("Consent not yet confirmed")
    expect(page.locator(f'tr[data-email="{CONFIRMED}"]')).to_have_count(0)
    page.get_by_label("State").select_option("sent")
    expect(page.locator(f'tr[data-email="{CONFIRMED}"]')).to_contain_text("Sent")
    assert page.console_errors == []
