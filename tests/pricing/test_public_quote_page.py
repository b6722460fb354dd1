"""The customer's quote page (/q/<token>/): what the customer needs to decide (unit prices,
discount, totals, VAT note, the note, whom to ask) and, when the link no longer opens the
quote, why — in the quote's language."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.test import TestCase
from django.utils import timezone

from kreis.core.models import Role
from kreis.parties.services import party_create
from kreis.pricing.models import Quote
from kreis.pricing.quotes import services as quotes
from kreis.sales.services import deal_create, ensure_default_pipeline
from tests.factories import MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal
TEN = D("10")


@pytest.fixture
def rep(db):
    user = UserFactory(
        username="rita", first_name="Rita", last_name="Rau", role=Role.SALES_REP,
        email="rita@example.com",
    )  # fmt: skip
    MembershipFactory(team=TeamFactory(name="Nord"), user=user)
    return user


def _sent(rep, *, language, note="", discount=TEN) -> tuple[Quote, str]:
    """A sent quote and the path of its link."""
    ensure_default_pipeline()
    customer = party_create(
        actor=rep, kind="organization", name="Gerber Hydraulik GmbH",
        emails=[{"value": "einkauf@gerber.example"}],
    )  # fmt: skip
    deal = deal_create(
        actor=rep,
        name="Pumpen 2026",
        organization=customer,
        lines=[{"description": "Pumpe", "quantity": D("4"), "unit_price": D("250")}],
    )
    quote = quotes.quote_create(actor=rep, deal=deal, language=language, note=note)
    line = quote.lines.get()
    if discount:
        quote = quotes.quote_revise(actor=rep, quote=quote, discounts={line.pk: discount})
    quotes.quote_submit(actor=rep, quote=quote)
    mail.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):  # the mail goes out on commit
        quotes.quote_send(actor=rep, quote=quote, base_url="http://testserver/")
    link = next(w for w in mail.outbox[-1].body.split() if "/q/" in w)
    quote.refresh_from_db()
    return quote, "/" + link.split("://", 1)[1].split("/", 1)[1]


def test_the_page_shows_prices_discount_totals_note_and_contact(client, rep):
    quote, path = _sent(rep, language="de", note="Lieferung frei Haus.")
    page = client.get(path).content.decode()
    assert "4 ×&nbsp;250,00" in page  # quantity and unit price
    assert "Rabatt&nbsp;10&nbsp;%" in page
    assert "Vor Rabatt" in page
    assert "1.000,00" in page
    assert "−100,00" in page
    assert 'data-testid="quote-total"' in page
    assert "900,00" in page
    assert "zuzüglich gesetzlicher Umsatzsteuer" in page
    assert "Lieferung frei Haus." in page
    assert "Rita Rau" in page
    assert "mailto:rita@example.com" in page
    assert "verbindlich annehmen?" in page  # the accept button asks first


def test_without_discount_no_discount_rows(client, rep):
    _quote, path = _sent(rep, language="en", discount=None)
    page = client.get(path).content.decode()
    assert "Before discount" not in page
    assert "Total (net)" in page
    assert "Prices plus statutory VAT" in page


def test_a_used_link_says_the_quote_was_accepted(client, rep):
    quote, path = _sent(rep, language="en")
    assert client.post(path, {"action": "accept"}).status_code == 200
    again = client.get(path)
    assert again.status_code == 410
    body = again.content.decode()
    assert 'data-reason="accepted"' in body
    assert f"Quote {quote.label} was accepted on" in body
    assert "rita@example.com" in body
    # Posting again on the used link says the same, not an error.
    second = client.post(path, {"action": "decline"})
    assert second.status_code == 410
    assert 'data-reason="accepted"' in second.content.decode()


def test_a_declined_quote_and_a_replaced_one(client, rep):
    quote, path = _sent(rep, language="de")
    client.post(path, {"action": "decline", "note": "zu teuer"})
    body = client.get(path).content.decode()
    assert 'data-reason="rejected"' in body
    assert "abgelehnt" in body
    other, other_path = _sent(rep, language="de")
    quotes.quote_revise(actor=rep, quote=other, discounts={})
    body = client.get(other_path).content.decode()
    assert 'data-reason="superseded"' in body
    assert "neuere Fassung" in body


def test_an_expired_link_and_an_expired_quote(client, rep):
    quote, path = _sent(rep, language="en")
    Quote.objects.filter(pk=quote.pk).update(
        token_expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    response = client.get(path)
    assert response.status_code == 410
    assert 'data-reason="link_expired"' in response.content.decode()
    Quote.objects.filter(pk=quote.pk).update(valid_until=timezone.localdate() - dt.timedelta(1))
    body = client.get(path).content.decode()
    assert 'data-reason="expired"' in body
    assert f"Quote {quote.label} was valid until" in body


def test_a_wrong_link_says_so_in_the_browsers_language(client):
    response = client.get("/q/" + "x" * 43 + "/", HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 404
    body = response.content.decode()
    assert 'data-reason="unknown"' in body
    assert "Dieser Link funktioniert nicht" in body
