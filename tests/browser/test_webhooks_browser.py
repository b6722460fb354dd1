"""Issue 11 in a real browser: create a webhook subscription, copy its secret, send a test
event and see the signed delivery in the log; a new organisation arrives too."""

import pytest
from standardwebhooks import Webhook

from kreis.automation.models import WebhookSubscription
from kreis.parties import services as party_services
from tests.automation import receiver as receiver_module
from tests.browser.test_shell_browser import SHOTS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def receiver():
    found, server = receiver_module.start()
    yield found
    server.shutdown()
    server.server_close()


def test_create_a_webhook_and_see_a_signed_delivery_in_its_log(
    page, live_server, dana, alice, receiver
):
    sign_in(page, live_server, "dana")
    page.get_by_role("link", name="Webhooks").click()
    page.wait_for_url("**/integration/webhooks/")
    page.get_by_role("link", name="New webhook").click()
    # Keyboard only: the fields in order, boxes ticked with the space bar.
    page.get_by_label("Name").fill("ERP sync")
    page.get_by_label("Target URL").fill(receiver.url)
    page.get_by_label("Organisation or person created").check()
    page.get_by_label("Enabled").check()
    page.get_by_label("Allow a private or local target").focus()
    page.keyboard.press("Space")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "webhook-form-desktop.png"), full_page=True)
    page.get_by_role("button", name="Save").press("Enter")

    secret_field = page.get_by_test_id("webhook-secret")
    secret = secret_field.input_value()
    assert secret.startswith("whsec_")
    subscription = WebhookSubscription.objects.get(name="ERP sync")
    assert subscription.allow_private_target

    page.get_by_test_id("send-test").click()
    log = page.get_by_test_id("delivery-log")
    log.get_by_text("webhook.test").wait_for()
    assert "Delivered" in log.inner_text()
    assert "200" in log.inner_text()
    assert len(receiver.received) == 1
    arrived = receiver.received[0]
    assert Webhook(secret).verify(arrived.body, arrived.headers)["type"] == "webhook.test"
    assert secret not in page.content()  # shown once, gone after the next page

    # A record event: alice's new organisation, seen by dana's subscription.
    party_services.party_create(actor=alice, kind="organization", name="Hafenkontor GmbH")
    page.reload()
    log.get_by_text("party.created").wait_for()
    body = Webhook(secret).verify(receiver.received[1].body, receiver.received[1].headers)
    assert body["data"]["name"] == "Hafenkontor GmbH"
    page.screenshot(path=str(SHOTS / "webhook-detail-desktop.png"), full_page=True)

    log.get_by_text("party.created").locator("xpath=ancestor::tr").get_by_role("link").first.click()
    page.get_by_test_id("payload").get_by_text("Hafenkontor GmbH").wait_for()
    page.screenshot(path=str(SHOTS / "webhook-delivery-desktop.png"), full_page=True)
    page.get_by_role("button", name="Redeliver").click()
    page.wait_for_url(f"**/integration/webhooks/{subscription.pk}/")
    assert len(receiver.received) == 3
    assert receiver.received[2].headers["webhook-id"] == receiver.received[1].headers["webhook-id"]

    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SHOTS / "webhook-detail-phone.png"), full_page=True)
    page.goto(f"{live_server.url}/integration/webhooks/")
    page.screenshot(path=str(SHOTS / "webhook-list-phone.png"), full_page=True)
    page.goto(f"{live_server.url}/integration/webhooks/new/")
    page.screenshot(path=str(SHOTS / "webhook-form-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/integration/webhooks/")
    page.screenshot(path=str(SHOTS / "webhook-list-desktop.png"), full_page=True)
    assert page.console_errors == []
