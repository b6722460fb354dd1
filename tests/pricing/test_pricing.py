"""Prices, discounts, approvals and quotes as a rep and her manager see them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from kreis.commerce.models import Product, Transaction
from kreis.core.models import Notification, Role
from kreis.marketing.models import Segment, SegmentMember
from kreis.parties.services import party_create
from kreis.pricing.models import (
    ApprovalStatus,
    DiscountApproval,
    DiscountRule,
    PriceList,
    PriceListItem,
    QuoteState,
)
from kreis.pricing.pricelists import services as prices
from kreis.pricing.quotes import services as quotes
from kreis.sales.models import StageKind
from kreis.sales.services import deal_create, ensure_default_pipeline
from tests.factories import MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def team():
    return TeamFactory(name="Nord")


@pytest.fixture
def rep(team):
    user = UserFactory(username="rita", role=Role.SALES_REP, email="rita@example.com")
    MembershipFactory(team=team, user=user)
    return user


@pytest.fixture
def manager(team):
    user = UserFactory(username="mara", role=Role.SALES_MANAGER, email="mara@example.com")
    MembershipFactory(team=team, user=user, is_manager=True)
    return user


@pytest.fixture
def product():
    return Product.objects.create(
        sku="P-1", name="Pumpe", list_price=D("100.00"), unit_cost=D("60")
    )


@pytest.fixture
def customer(rep):
    return party_create(
        actor=rep,
        kind="organization",
        name="Gerber Hydraulik GmbH",
        emails=[{"value": "einkauf@gerber.example"}],
    )


@pytest.fixture
def deal(rep, customer, product):
    ensure_default_pipeline()
    return deal_create(
        actor=rep,
        name="Pumpen 2026",
        organization=customer,
        lines=[{"product_id": product.pk, "quantity": D("10"), "unit_price": D("100")}],
    )


def _segment_with(party) -> Segment:
    segment = Segment.objects.create(name="Key accounts", kind="static")
    SegmentMember.objects.create(segment=segment, party=party)
    return segment


def test_without_a_price_list_the_list_price_applies(product, customer):
    applied = prices.price_for(product=product, party=customer, currency="EUR")
    assert applied.unit_price == D("100.00")
    assert applied.price_list is None
    assert "list price" in applied.source


def test_most_specific_valid_list_wins_and_tiers_count(product, customer):
    today = timezone.localdate()
    general = PriceList.objects.create(name="Allgemein", currency="EUR")
    PriceListItem.objects.create(price_list=general, product=product, unit_price=D("95"))
    PriceListItem.objects.create(
        price_list=general, product=product, min_quantity=D("50"), unit_price=D("80")
    )
    keyacc = PriceList.objects.create(name="Key", currency="EUR", segment=_segment_with(customer))
    PriceListItem.objects.create(price_list=keyacc, product=product, unit_price=D("90"))
    expired = PriceList.objects.create(
        name="Alt",
        currency="EUR",
        segment=keyacc.segment,
        channel="direct",
        valid_to=today - dt.timedelta(days=1),
    )
    PriceListItem.objects.create(price_list=expired, product=product, unit_price=D("10"))
    other_currency = PriceList.objects.create(name="USD", currency="USD")
    PriceListItem.objects.create(price_list=other_currency, product=product, unit_price=D("1"))

    applied = prices.price_for(product=product, party=customer, currency="EUR", channel="direct")
    assert (applied.unit_price, applied.price_list) == (D("90"), keyacc)
    assert "Key" in applied.source
    # A party outside the segment gets the general list, its tier from 50 on.
    other = party_create(actor=None, kind="organization", name="Fremd AG")
    assert prices.price_for(product=product, party=other, currency="EUR").unit_price == D("95")
    big = prices.price_for(product=product, party=other, currency="EUR", quantity=D("60"))
    assert big.unit_price == D("80")


def test_the_best_discount_rule_applies_never_the_sum(customer):
    customer.abc_class = "A"
    customer.save()
    DiscountRule.objects.create(name="A", percent=D("5"), abc_class="A")
    DiscountRule.objects.create(name="Menge", percent=D("3"), min_quantity=D("10"))
    DiscountRule.objects.create(name="C", percent=D("20"), abc_class="C")
    DiscountRule.objects.create(name="Seg", percent=D("7"), segment=_segment_with(customer))
    found = prices.best_discount(party=customer, quantity=D("10"))
    assert found.percent == D("7")
    assert found.rule.name == "Seg"


def test_rep_cannot_manage_price_lists(rep, manager):
    with pytest.raises(PermissionDenied):
        prices.price_list_create(actor=rep, name="X")
    assert prices.price_list_create(actor=manager, name="Y", currency="eur").currency == "EUR"


def test_price_list_period_must_be_in_order(manager):
    with pytest.raises(ValidationError) as exc:
        prices.price_list_create(
            actor=manager, name="X", valid_from=dt.date(2026, 5, 1), valid_to=dt.date(2026, 4, 1)
        )
    assert "valid_to" in exc.value.message_dict


def test_quote_takes_the_list_price_and_shows_its_source(rep, deal, product):
    plist = PriceList.objects.create(name="Preisliste 2026", currency="EUR")
    PriceListItem.objects.create(price_list=plist, product=product, unit_price=D("90"))
    quote = quotes.quote_create(actor=rep, deal=deal)
    line = quote.lines.get()
    assert line.unit_price == D("90")
    assert "Preisliste 2026" in line.price_source
    assert quote.net_total == D("900.00")
    assert quote.state == QuoteState.DRAFT
    assert not quote.needs_approval


def test_discount_above_the_limit_waits_for_the_manager(rep, manager, deal):
    prices.settings_update(actor=manager, default_discount_limit=D("10"))
    quote = quotes.quote_create(actor=rep, deal=deal)
    line = quote.lines.get()
    quote2 = quotes.quote_revise(actor=rep, quote=quote, discounts={line.pk: D("15")})
    quote.refresh_from_db()
    assert quote.state == QuoteState.SUPERSEDED
    assert quote2.version == 2
    assert quote2.needs_approval
    with pytest.raises(ValidationError):
        quotes.quote_submit(actor=rep, quote=quote2, reason="")
    with django_capture_on_commit():
        quotes.quote_submit(actor=rep, quote=quote2, reason="Wettbewerb")
    quote2.refresh_from_db()
    assert quote2.state == QuoteState.AWAITING_APPROVAL
    assert Notification.objects.filter(user=manager, title__contains=quote2.label).exists()
    assert any("mara@example.com" in m.to for m in mail.outbox)
    with pytest.raises(ValidationError):
        quotes.quote_send(actor=rep, quote=quote2, base_url="http://testserver/")
    with pytest.raises(ValidationError):
        quotes.quote_accept(actor=rep, quote=quote2)
    approval = DiscountApproval.objects.get(quote=quote2)
    with pytest.raises(PermissionDenied):
        quotes.approval_decide(actor=rep, approval=approval, approve=True)
    with django_capture_on_commit():
        quotes.approval_decide(actor=manager, approval=approval, approve=True, note="ok, einmalig")
    approval.refresh_from_db()
    quote2.refresh_from_db()
    assert approval.status == ApprovalStatus.APPROVED
    assert approval.decided_by == manager
    assert quote2.state == QuoteState.APPROVED
    assert Notification.objects.filter(user=rep, title__contains=quote2.label).exists()


def test_rejected_request_returns_the_quote_to_draft(rep, manager, deal):
    quote = quotes.quote_create(actor=rep, deal=deal, discounts={deal.lines.get().pk: D("40")})
    quotes.quote_submit(actor=rep, quote=quote, reason="bitte")
    approval = DiscountApproval.objects.get(quote=quote)
    with pytest.raises(ValidationError):
        quotes.approval_decide(actor=manager, approval=approval, approve=False, note="")
    quotes.approval_decide(actor=manager, approval=approval, approve=False, note="zu viel")
    quote.refresh_from_db()
    assert quote.state == QuoteState.DRAFT


def test_send_mails_the_pdf_and_the_link_accepts_once(rep, deal):
    quote = quotes.quote_create(actor=rep, deal=deal)
    quotes.quote_submit(actor=rep, quote=quote)
    with django_capture_on_commit():
        quotes.quote_send(actor=rep, quote=quote, base_url="http://testserver/")
    message = mail.outbox[-1]
    assert message.to == ["einkauf@gerber.example"]
    name, content, mimetype = message.attachments[0]
    assert mimetype == "application/pdf"
    assert content.startswith(b"%PDF")
    link = next(word for word in message.body.split() if "/q/" in word)
    token = link.rstrip("/").rsplit("/", 1)[-1]
    assert len(token) >= 43  # 256 bits
    found = quotes.quote_for_token(token)
    assert found == quote
    quotes.quote_accept(actor=None, quote=found, via="link")
    quote.refresh_from_db()
    assert quote.state == QuoteState.ACCEPTED
    assert quote.decided_via == "link"
    order = Transaction.objects.get(pk=quote.order_id)
    assert order.kind == "order"
    assert order.net_revenue == quote.net_total
    deal.refresh_from_db()
    assert deal.stage.kind == StageKind.WON
    with pytest.raises(ValidationError):
        quotes.quote_accept(actor=None, quote=found, via="link")


def test_public_page_accepts_and_the_link_is_single_use(client, rep, deal):
    quote = quotes.quote_create(actor=rep, deal=deal)
    quotes.quote_submit(actor=rep, quote=quote)
    with django_capture_on_commit():
        quotes.quote_send(actor=rep, quote=quote, base_url="http://testserver/")
    link = next(w for w in mail.outbox[-1].body.split() if "/q/" in w)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    page = client.get(path)
    assert page.status_code == 200
    assert "Gerber Hydraulik" in page.content.decode()
    done = client.post(path, {"action": "accept"})
    assert done.status_code == 200
    quote.refresh_from_db()
    assert quote.state == QuoteState.ACCEPTED
    assert client.get(path).status_code == 410
    assert client.get("/q/not-a-token/").status_code == 404


def test_expire_ends_sent_quotes_past_validity(rep, deal):
    quote = quotes.quote_create(actor=rep, deal=deal)
    quotes.quote_submit(actor=rep, quote=quote)
    assert quotes.quotes_expire(today=quote.valid_until + dt.timedelta(days=1)) == 1
    quote.refresh_from_db()
    assert quote.state == QuoteState.EXPIRED


def test_outsider_cannot_see_the_quote(client, rep, deal):
    quote = quotes.quote_create(actor=rep, deal=deal)
    outsider = UserFactory(username="otto", role=Role.SALES_REP)
    client.force_login(outsider)
    assert client.get(f"/pricing/quotes/{quote.pk}/").status_code == 404
    assert client.get(f"/pricing/quotes/{quote.pk}/pdf/").status_code == 404
    client.force_login(rep)
    response = client.get(f"/pricing/quotes/{quote.pk}/pdf/")
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")


def test_csv_round_trip(manager, product):
    plist = PriceList.objects.create(name="=Export", currency="EUR", channel="online")
    PriceListItem.objects.create(price_list=plist, product=product, unit_price=D("77"))
    text = prices.export_csv([plist])
    assert "'=Export" in text
    PriceList.objects.all().delete()
    result = prices.import_csv(actor=manager, text=text)
    assert result.items_set == 1
    assert PriceList.objects.get().name == "=Export"
    with pytest.raises(ValidationError):
        prices.import_csv(actor=manager, text="price_list,sku,unit_price\nX,NOPE,abc\n")


class django_capture_on_commit:  # noqa: N801 (reads like the fixture it stands for)
    """Run on_commit callbacks at the end of the block (the test runs in one transaction)."""

    def __enter__(self):
        from django.db import connection

        self._start = len(connection.run_on_commit)
        return self

    def __exit__(self, *exc):
        from django.db import connection

        if exc[0] is None:
            for _sids, func, _robust in connection.run_on_commit[self._start :]:
                func()
