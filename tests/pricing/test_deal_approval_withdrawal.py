"""A pending request to approve a deal's line discounts ends when those lines change: it is
withdrawn (who, when, why kept), leaves the approvers' inbox, each approver hears of it in her
own language, and the new lines need a request of their own if they are still above the limit.
A quote's revision withdraws its request the same way."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import translation

from kreis.core.models import Notification
from kreis.pricing.models import ApprovalStatus, DiscountApproval, QuoteState
from kreis.pricing.pricelists import services as prices
from kreis.pricing.quotes import services as quotes
from kreis.sales.services import deal_update
from tests.pricing.test_pricing import django_capture_on_commit
from tests.pricing.test_pricing_approvers import _deal, sabine, solo, sven  # noqa: F401
from tests.sales.test_deal_api import api_for

pytestmark = pytest.mark.django_db

D = Decimal
WARTUNG = {"description": "Wartung", "quantity": D("10"), "unit_price": D("100")}


@pytest.fixture(autouse=True)
def _language_back():
    """Sina's pages are in German; the next test starts in the default language again."""
    yield
    translation.deactivate()


@pytest.fixture
def requested(solo, sven, sabine):  # noqa: F811
    """Sina's deal with 30 % off one line (her limit: 10 %), waiting for a manager."""
    prices.settings_update(actor=sven, default_discount_limit=D("10"))
    deal = _deal(solo, discount=D("300"))
    approval = quotes.deal_approval_request(actor=solo, deal=deal, reason="Großkunde")
    Notification.objects.all().delete()
    return deal, approval


def _inbox(user) -> str:
    client = Client()
    client.force_login(user)
    return client.get("/pricing/approvals/").content.decode()


def test_changed_lines_withdraw_the_pending_request(requested, solo, sven, sabine):  # noqa: F811
    deal, approval = requested
    assert "Großkunde" in _inbox(sven).split("Decided")[0]

    with django_capture_on_commit():
        deal_update(actor=solo, deal=deal, lines=[{**WARTUNG, "discount": D("250")}])

    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.WITHDRAWN
    assert (approval.decided_by, approval.withdrawn_because) == (solo, "lines_changed")
    assert approval.decided_at is not None
    # The inbox no longer asks for a decision; the history keeps the request and why it ended.
    inbox = _inbox(sven)
    waiting, decided = inbox.split("Decided</h2>")
    assert "Großkunde" not in waiting
    assert "No requests are waiting." in waiting
    assert "Withdrawn: the lines changed" in decided
    # Each approver hears of it in her own language.
    assert Notification.objects.get(user=sven).title == "Approval request withdrawn: Keller 2026"
    german = Notification.objects.get(user=sabine)
    assert german.title == "Rabattfreigabe zurückgezogen: Keller 2026"
    assert "die Positionen haben sich geändert" in german.body
    assert not Notification.objects.filter(user=solo).exists()  # she changed them herself
    # Nothing is left to decide.
    with pytest.raises(ValidationError):
        quotes.approval_decide(actor=sven, approval=approval, approve=True)


def test_new_lines_still_above_the_limit_need_a_new_request(requested, solo, sven):  # noqa: F811
    deal, approval = requested
    deal_update(actor=solo, deal=deal, lines=[{**WARTUNG, "discount": D("250")}])
    check = quotes.deal_discount_check(deal)
    assert (check.state, check.over) == ("needed", D("25.00"))
    client = Client()
    client.force_login(solo)
    page = client.get(f"/pricing/deals/{deal.pk}/quotes/").content.decode()
    assert 'data-state="needed"' in page
    assert 'data-testid="deal-request-approval"' in page
    assert "Zurückgezogen: die Positionen haben sich geändert" in page  # her history, in German
    again = quotes.deal_approval_request(actor=solo, deal=deal, reason="immer noch Großkunde")
    assert again.requested_discount == D("25.00")
    assert quotes.deal_discount_check(deal).state == "requested"


def test_new_lines_within_the_limit_need_nobody(requested, solo):  # noqa: F811
    deal, approval = requested
    deal_update(actor=solo, deal=deal, lines=[{**WARTUNG, "discount": D("50")}])
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.WITHDRAWN
    assert quotes.deal_discount_check(deal).state == ""


def test_other_changes_keep_the_request(requested, solo):  # noqa: F811
    deal, approval = requested
    same = [{**WARTUNG, "description": "Wartung 2026", "discount": D("300.00")}]
    deal_update(actor=solo, deal=deal, name="Keller 2026/27", lines=same)
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.REQUESTED
    assert quotes.deal_discount_check(deal).state == "requested"
    assert not Notification.objects.exists()


def test_the_edit_form_and_the_api_withdraw_too(requested, solo, sven, api_key_for):  # noqa: F811
    deal, approval = requested
    client = Client()
    client.force_login(solo)
    line = deal.lines.get()
    form = {
        "name": deal.name,
        "stage": deal.stage_id,
        "currency": "EUR",
        "amount": "",
        "owner": solo.pk,
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "1",
        "lines-0-description": line.description,
        "lines-0-quantity": "10.000",
        "lines-0-unit_price": "100.00",
        "lines-0-discount": "300.00",
        "lines-1-quantity": "1",
    }
    # Saving the form with the lines as they were (only the name changed) keeps the request.
    assert client.post(f"/deals/{deal.pk}/edit/", {**form, "name": "Keller neu"}).status_code == 302
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.REQUESTED
    assert deal.lines.count() == 1
    # A new quantity withdraws it.
    response = client.post(f"/deals/{deal.pk}/edit/", {**form, "lines-0-quantity": "12"})
    assert response.status_code == 302
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.WITHDRAWN
    # Through the API: a new request, then PATCH with other lines.
    second = quotes.deal_approval_request(actor=solo, deal=deal, reason="nochmals")
    api = api_for(api_key_for(solo))
    lines = [{"description": "Wartung", "quantity": "12", "unit_price": "90", "discount": "300"}]
    assert api.patch(f"/deals/{deal.pk}", {"lines": lines}).status_code == 200
    second.refresh_from_db()
    assert (second.status, second.withdrawn_because) == (ApprovalStatus.WITHDRAWN, "lines_changed")


def test_a_quote_revision_withdraws_its_request_with_who_and_why(solo, sven, sabine):  # noqa: F811
    prices.settings_update(actor=sven, default_discount_limit=D("10"))
    deal = _deal(solo)
    quote = quotes.quote_create(actor=solo, deal=deal, discounts={deal.lines.get().pk: D("30")})
    quotes.quote_submit(actor=solo, quote=quote, reason="Großauftrag")
    approval = DiscountApproval.objects.get(quote=quote)
    Notification.objects.all().delete()
    with django_capture_on_commit():
        newer = quotes.quote_revise(
            actor=solo, quote=quote, discounts={quote.lines.get().pk: D("20")}
        )
    approval.refresh_from_db()
    quote.refresh_from_db()
    assert quote.state == QuoteState.SUPERSEDED
    assert approval.status == ApprovalStatus.WITHDRAWN
    assert (approval.decided_by, approval.withdrawn_because) == (solo, "quote_revised")
    assert Notification.objects.get(user=sven).title.startswith("Approval request withdrawn")
    assert Notification.objects.get(user=sabine).title.startswith("Rabattfreigabe zurückgezogen")
    assert "Withdrawn: the quote was revised" in _inbox(sven).split("Decided</h2>")[1]
    client = Client()
    client.force_login(solo)
    page = client.get(f"/pricing/quotes/{quote.pk}/").content.decode()
    assert "Zurückgezogen: das Angebot wurde überarbeitet" in page  # her quote's history
    assert newer.state == QuoteState.DRAFT
    # A quote's request is about the quote's own lines: changing the deal's lines keeps it.
    quotes.quote_submit(actor=solo, quote=newer, reason="immer noch groß")
    pending = DiscountApproval.objects.get(quote=newer)
    deal_update(actor=solo, deal=deal, lines=[{**WARTUNG, "quantity": D("11")}])
    pending.refresh_from_db()
    assert pending.status == ApprovalStatus.REQUESTED
