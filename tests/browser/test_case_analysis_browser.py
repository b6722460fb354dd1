"""A sales manager opens the complaint analysis from the case list, picks a custom period, sees
the Pareto chart with its formula on hover, subscribes to the weekly report and opens the
report of last week; at phone width the page does not scroll sideways."""

import datetime as dt

import pytest
from django.utils import timezone

from kreis.parties.services import party_create
from kreis.service import services
from kreis.service.defaults import ensure_defaults
from kreis.service.models import Case, CaseCategory, ReportSubscription
from tests.browser.test_shell_browser import SHOTS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_analyses_complaints_and_subscribes_to_the_weekly_report(page, live_server, mia):
    ensure_defaults()  # an earlier transactional test's flush removed what migrate made
    customer = party_create(actor=mia, kind="organization", name="Pumpen GmbH")
    today = timezone.localdate()
    for kind in ("defect", "defect", "billing"):
        made = services.case_create(
            actor=mia,
            party=customer,
            channel="phone",
            category=CaseCategory.objects.get(kind=kind),
            subject="Reklamation",
            acknowledge=False,
        )
        Case.objects.filter(pk=made.pk).update(created_at=timezone.now() - dt.timedelta(days=2))

    sign_in(page, live_server, "mia")
    page.goto(f"{live_server.url}/cases/")
    page.get_by_role("link", name="Analysis").click()
    page.wait_for_url(f"{live_server.url}/cases/analysis/")
    page.select_option("#analysis-range", "custom")
    page.fill("#analysis-start", (today - dt.timedelta(days=6)).isoformat())
    page.fill("#analysis-end", today.isoformat())
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**range=custom**")
    category = page.locator(".pareto-table").first
    assert category.locator("tbody tr").first.inner_text().startswith("Product defect")
    assert "66.7" in category.inner_text()
    chart = page.locator("figure[title^='Sorted by count']").first
    assert chart.locator("svg.case-chart rect").count() >= 2
    page.screenshot(path=str(SHOTS / "case-analysis.png"), full_page=True)

    page.locator("[data-testid=subscriptions] li").first.get_by_role(
        "button", name="Subscribe"
    ).click()
    page.get_by_text("You get the weekly complaint report by e-mail.").wait_for()
    assert ReportSubscription.objects.get(user=mia, frequency="weekly").is_active

    page.get_by_role("link", name="Last week (HTML)").click()
    page.locator("[data-testid=report-period]").wait_for()

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/cases/analysis/")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
