"""An agent works a complaint to its end; the customer rates the resolution through the link of
the closing e-mail, as it arrived at a real SMTP server, and the agent sees the rating."""

import re

import pytest

from kreis.parties.services import party_create
from kreis.service import services
from kreis.service.defaults import ensure_defaults
from kreis.service.models import AssignmentRule, CaseCategory, CaseRating, RootCause
from tests.browser.test_shell_browser import SHOTS, sign_in
from tests.factories import TeamFactory
from tests.service.conftest import agent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_closes_a_case_and_the_customer_rates_it_from_the_closing_mail(
    page,
    browser,
    live_server,
    alice,
    smtp_inbox,  # noqa: F811  (the fixture imported above)
):
    ensure_defaults()  # an earlier transactional test's flush removed what migrate made
    sam = agent("sam", TeamFactory(name="Support North"), first_name="Sam", last_name="Service")
    defect = CaseCategory.objects.get(kind="defect")
    AssignmentRule.objects.create(position=1, name="Defects", category=defect, assign_user=sam)
    customer = party_create(
        actor=alice,
        kind="person",
        first_name="Jana",
        last_name="Weber",
        emails=[{"value": "jana.weber@example.org"}],
    )
    case = services.case_create(
        actor=alice,
        party=customer,
        channel="phone",
        category=defect,
        subject="Wärmepumpe fällt aus",
        description="Intern: Seriennummer 4711 prüfen",
        severity="high",
        language="de",
    )

    sign_in(page, live_server, "sam")
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    page.fill("#reply_body", "Unser Techniker kommt am Dienstag vorbei.")
    page.get_by_role("button", name="Send reply").click()
    page.locator("[data-testid=case-timeline]").get_by_text("Unser Techniker kommt").wait_for()
    page.get_by_role("button", name="Mark as In progress").click()
    page.get_by_role("button", name="Mark as Solution proposed").click()
    page.get_by_role("button", name="Mark as Resolved").wait_for()
    page.select_option("select[name=root_cause]", str(RootCause.objects.first().pk))
    page.get_by_role("button", name="Mark as Resolved").click()
    page.get_by_role("button", name="Mark as Closed").click()
    page.get_by_role("button", name="Reopen").wait_for()

    closing = [
        message for _to, message in smtp_inbox.messages if "abgeschlossen" in message["Subject"]
    ]
    assert len(closing) == 1
    body = closing[0].get_content()
    link = re.search(r"https?://\S+/cases/rate/\S+/", body)[0]
    assert link.startswith(live_server.url)

    # The customer, on a phone, not signed in.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    customer_page = phone.new_page()
    errors = []
    customer_page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    customer_page.goto(link)
    assert customer_page.locator("html").get_attribute("lang") == "de"
    card = customer_page.locator("[data-testid=rating-case]")
    assert case.number in card.inner_text()
    assert "Wärmepumpe fällt aus" in card.inner_text()
    assert "Seriennummer" not in customer_page.content()
    # Keyboard: into the group, then the arrow keys move the choice.
    customer_page.get_by_label("1 Sehr schlecht", exact=True).focus()
    customer_page.keyboard.press("ArrowRight")
    assert customer_page.get_by_label("2 Schlecht", exact=True).is_checked()
    customer_page.fill("#rating-comment", "Hat zwei Wochen gedauert.")
    SHOTS.mkdir(parents=True, exist_ok=True)
    customer_page.screenshot(path=str(SHOTS / "case-rating-phone.png"), full_page=True)
    customer_page.get_by_role("button", name="Bewertung senden").click()
    customer_page.get_by_text("Vielen Dank für Ihre Bewertung!").wait_for()
    assert errors == []
    customer_page.goto(link)  # the link works once
    customer_page.get_by_text("Sie haben diese Reklamation bereits bewertet").wait_for()
    phone.close()

    rating = CaseRating.objects.get(case=case)
    assert (rating.rating, rating.comment) == (2, "Hat zwei Wochen gedauert.")
    page.reload()
    ratings = page.locator("[data-testid=case-ratings]")
    ratings.get_by_text("Hat zwei Wochen gedauert.").wait_for()
    assert "2 of 5" in ratings.inner_text()
    timeline = page.locator("[data-testid=case-timeline]")
    assert (
        timeline.locator("[data-kind=rating]")
        .get_by_text("The customer rated the resolution 2 of 5")
        .is_visible()
    )
    assert page.console_errors == []
