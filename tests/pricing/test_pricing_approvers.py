"""Who is asked to approve may read the quote; a deal's own line discounts need approval too;
notifications reach each recipient in her own language."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from kreis.core.models import Notification, Role
from kreis.parties.services import party_create
from kreis.pricing.models import ApprovalStatus, DiscountApproval, QuoteState
from kreis.pricing.pricelists import services as prices
from kreis.pricing.quotes import services as quotes
from kreis.sales.services import deal_create, ensure_default_pipeline
from tests.factories import UserFactory
from tests.pricing.test_pricing import django_capture_on_commit

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def solo():
    """A rep in no team: her requests go to the sales managers."""
    return UserFactory(
        username="sina", role=Role.SALES_REP, email="sina@example.com", language="de"
    )


@pytest.fixture
def sven():
    return UserFactory(
        username="sven", role=Role.SALES_MANAGER, email="sven@example.com", language="en"
    )


@pytest.fixture
def sabine():
    return UserFactory(
        username="sabine", role=Role.SALES_MANAGER, email="sabine@example.com", language="de"
    )


def _deal(rep, discount: Decimal | None = None):
    ensure_default_pipeline()
    customer = party_create(actor=rep, kind="organization", name="Keller Pumpen AG")
    return deal_create(
        actor=rep,
        name="Keller 2026",
        organization=customer,
        lines=[
            {
                "description": "Wartung",
                "quantity": D("10"),
                "unit_price": D("100"),
                "discount": discount or D("0"),
            }
        ],
    )


def test_the_asked_manager_reads_the_quote_while_asked_or_after_deciding(
    client, solo, sven, sabine
):
    deal = _deal(solo)
    quote = quotes.quote_create(actor=solo, deal=deal, discounts={deal.lines.get().pk: D("30")})
    url = f"/pricing/quotes/{quote.pk}/"
    client.force_login(sven)
    assert client.get(url).status_code == 404  # not asked yet, and not his deal
    quotes.quote_submit(actor=solo, quote=quote, reason="Großauftrag")
    for manager in (sven, sabine):
        client.force_login(manager)
        page = client.get(url)
        assert page.status_code == 200
        assert b'data-testid="approver-view"' in page.content
        assert b'name="discount_' not in page.content  # read-only
        assert client.get(f"{url}pdf/").status_code == 200
        assert client.post(f"{url}revise/", {}).status_code == 404
    client.force_login(sven)
    assert client.get("/pricing/approvals/").status_code == 200
    approval = DiscountApproval.objects.get(quote=quote)
    response = client.post(
        f"/pricing/approvals/{approval.pk}/decide/", {"decision": "approve", "decision_note": "ok"}
    )
    assert response.status_code == 302
    assert client.get(url).status_code == 200  # he decided it
    client.force_login(sabine)
    assert client.get(url).status_code == 404  # no longer asked
    outsider = UserFactory(username="olaf", role=Role.SALES_REP)
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_a_deal_line_above_the_limit_needs_approval_once(client, solo, sven):
    prices.settings_update(actor=sven, default_discount_limit=D("10"))
    deal = _deal(solo, discount=D("200"))  # 20 % of 1,000
    check = quotes.deal_discount_check(deal)
    assert (check.state, check.over, check.limit) == ("needed", D("20.00"), D("10"))
    client.force_login(solo)
    page = client.get(f"/pricing/deals/{deal.pk}/quotes/", HTTP_HX_REQUEST="true")
    assert b'data-state="needed"' in page.content
    assert b'data-testid="deal-request-approval"' in page.content
    with pytest.raises(ValidationError):
        quotes.deal_approval_request(actor=solo, deal=deal, reason=" ")
    with django_capture_on_commit():
        response = client.post(f"/pricing/deals/{deal.pk}/approval/", {"reason": "Rahmenvertrag"})
    assert response.status_code == 302
    approval = DiscountApproval.objects.get(deal=deal)
    assert approval.quote is None
    assert approval.requested_discount == D("20.00")
    assert quotes.deal_discount_check(deal).state == "requested"
    assert Notification.objects.filter(user=sven, title__contains=deal.name).exists()
    with pytest.raises(ValidationError):
        quotes.deal_approval_request(actor=solo, deal=deal, reason="nochmal")
    client.force_login(sven)
    inbox = client.get("/pricing/approvals/")
    assert b'data-testid="approval-deal-lines"' in inbox.content
    quotes.approval_decide(actor=sven, approval=approval, approve=True, note="einmalig")
    assert quotes.deal_discount_check(deal).state == "approved"
    quote = quotes.quote_create(actor=solo, deal=deal)
    assert quote.max_discount == D("20.00")
    assert not quote.needs_approval  # approved on the deal already
    quotes.quote_submit(actor=solo, quote=quote)
    quote.refresh_from_db()
    assert quote.state == QuoteState.APPROVED
    higher = quotes.quote_revise(actor=solo, quote=quote, discounts={quote.lines.get().pk: D("25")})
    assert higher.needs_approval  # above what was approved


def test_a_rejected_deal_request_can_be_asked_again(solo, sven):
    prices.settings_update(actor=sven, default_discount_limit=D("10"))
    deal = _deal(solo, discount=D("300"))
    approval = quotes.deal_approval_request(actor=solo, deal=deal, reason="bitte")
    quotes.approval_decide(actor=sven, approval=approval, approve=False, note="zu hoch")
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.REJECTED
    assert quotes.deal_discount_check(deal).state == "needed"
    assert quotes.quote_create(actor=solo, deal=deal).needs_approval


def test_notifications_speak_each_recipients_language(solo, sven, sabine):
    deal = _deal(solo)
    quote = quotes.quote_create(actor=solo, deal=deal, discounts={deal.lines.get().pk: D("30")})
    mail.outbox.clear()
    with django_capture_on_commit():
        quotes.quote_submit(actor=solo, quote=quote, reason="Großauftrag")
    assert Notification.objects.get(user=sven).title.startswith("Discount approval requested")
    assert Notification.objects.get(user=sabine).title.startswith("Rabattfreigabe beantragt")
    subjects = {m.to[0]: m.subject for m in mail.outbox}
    assert subjects["sven@example.com"].startswith("Discount approval requested")
    assert subjects["sabine@example.com"].startswith("Rabattfreigabe beantragt")
    approval = DiscountApproval.objects.get(quote=quote)
    with django_capture_on_commit():
        quotes.approval_decide(actor=sven, approval=approval, approve=True, note="ok")
    assert Notification.objects.get(user=solo).title.startswith("Rabatt freigegeben")
