"""Playbooks in a real browser: a customer moved into Endangerment by the nightly run (the
``phase_changed`` signal with the run's PhaseChange rows, as the pipeline sends it) gets the
retention playbook's first task; the account owner sees it on her task list and on the
customer's page, with the playbook card; the playbook page shows the customer at step 1 and
draws its chart at desktop and phone width. Screenshots go to var/screenshots."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from kreis.analytics.customer.models import PhaseChange
from kreis.analytics.signals import phase_changed
from kreis.playbooks import services
from kreis.playbooks.models import Enrollment, Playbook
from tests.browser.test_shell_browser import SHOTS, sign_in
from tests.parties.factories import OrganizationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_customer_moved_into_endangerment_gets_the_retention_task(page, live_server, alice, dana):
    services.ensure_defaults()
    playbook = Playbook.objects.get(key="retention-endangerment")
    playbook.holdout_percent = 0  # this customer must be treated, not held out
    playbook.save()
    customer = OrganizationFactory(name="Gefährdet GmbH", owner=alice, lifecycle_phase="maturity")
    # The nightly run: PhaseChange rows written in bulk, then the signal with them.
    changes = PhaseChange.objects.bulk_create(
        [
            PhaseChange(
                party=customer,
                date=timezone.localdate(),
                from_phase="maturity",
                to_phase="endangerment",
                reason="recency",
            )
        ]
    )
    phase_changed.send(sender=PhaseChange, changes=changes, run=None)
    assert Enrollment.objects.get(party=customer).current_step == 1

    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/activities/?kind=task")
    expect(page.get_by_text("Review the endangered customer").first).to_be_visible()
    page.goto(f"{live_server.url}/parties/{customer.pk}/")
    card = page.locator("[data-testid=party-playbooks]")
    expect(card).to_contain_text("Retention on Endangerment")
    expect(card).to_contain_text("Active")
    expect(page.get_by_text("Review the endangered customer").first).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "playbooks-party.png"), full_page=True)

    page.goto(f"{live_server.url}/playbooks/{playbook.pk}/")
    rows = page.locator("[data-testid=enrollment-list] tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Gefährdet GmbH")
    expect(rows.first).to_contain_text("1/3")
    chart = page.locator("#playbook-chart-chart")
    expect(chart).not_to_have_attribute("aria-busy", "true")
    assert chart.get_attribute("data-chart-state") == "drawn"
    page.screenshot(path=str(SHOTS / "playbooks-detail-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator("[data-testid=playbook-stats]")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 391, width
    page.screenshot(path=str(SHOTS / "playbooks-detail-390.png"), full_page=True)
    assert page.console_errors == []
