"""In Chromium: a user filters the mentions to the negative ones, opens one and turns it into a
complaint case; the case shows what the author wrote, and the mention links to its case."""

import re

import pytest
from django.utils import timezone

from kreis.service.defaults import ensure_defaults
from kreis.service.models import Case
from kreis.social import services
from kreis.social.models import SourceKind
from tests.browser.test_shell_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ANGRY = "Die Pumpe von Kreiswerk ist seit Montag kaputt. Sehr enttäuscht!"
HAPPY = "Kreiswerk hat mir heute super schnell geholfen. Danke!"


@pytest.fixture
def mentions(keywords, alice):
    ensure_defaults()  # case categories (an earlier transactional test's flush removed them)
    source = services.source_create(actor=alice, name="Bewertungen", kind=SourceKind.WEBHOOK)
    posts = [
        services.fetching.Post(
            external_id=str(n),
            url=f"https://social.example/@anna/{n}",
            text=text,
            published_at=timezone.now(),
            author_handle="@anna@social.example",
            author_name="Anna Adler",
        )
        for n, text in enumerate((ANGRY, HAPPY))
    ]
    return services.mentions_store(source=source, posts=posts)[1]


def test_negative_mention_becomes_a_case_and_both_pages_link(page, live_server, alice, mentions):
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/social/")
    page.get_by_label("Sentiment", exact=True).select_option("negative")
    rows = page.get_by_test_id("mention-list").locator("tbody tr")
    rows.filter(has_text="Danke").wait_for(state="detached")  # the list narrowed (htmx)
    assert rows.count() == 1
    rows.get_by_role("link", name=re.compile("Die Pumpe von Kreiswerk")).click()

    page.wait_for_url(re.compile(r"/social/mentions/\d+/$"))
    assert page.get_by_test_id("mention-text").inner_text() == ANGRY
    actions = page.get_by_test_id("mention-actions")
    actions.get_by_label("Category").select_option(label="Product defect")
    actions.get_by_label("Severity").select_option("high")
    actions.get_by_role("button", name="Turn into a case").click()

    link = page.get_by_test_id("mention-case")
    link.wait_for()
    case = Case.objects.get()
    assert case.number in link.inner_text()
    assert "Case created from the mention." in page.locator(".alert").first.inner_text()
    link.click()

    page.wait_for_url(f"{live_server.url}/cases/{case.pk}/")
    body = page.locator("main").inner_text()
    assert ANGRY in body
    assert "https://social.example/@anna/0" in body
    assert "Social media" in body  # the channel it came in on
    page.go_back()
    assert case.number in page.get_by_test_id("mention-case").inner_text()
    assert not page.console_errors
