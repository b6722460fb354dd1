"""The customer's quote page offers the quote as PDF (/q/<token>/pdf/): the PDF the e-mail
carries, in the customer's language, as an attachment, never cached and never with an internal
note; under the same link rules as the page, without using up the single-use link, and limited
per IP address like the page's answers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import timezone

from kreis.pricing.models import DiscountApproval, Quote, QuoteState
from kreis.pricing.quotes import pdf as quote_pdf
from kreis.pricing.quotes import public
from tests.pricing.test_public_quote_page import _sent, rep  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_allowance():
    cache.clear()  # the per-IP download count starts at nothing
    yield
    cache.clear()


@pytest.fixture
def rendered(monkeypatch):
    """The HTML each PDF is made from (WeasyPrint compresses the PDF's text)."""
    pages: list[str] = []
    original = quote_pdf.quote_html

    def capture(quote):
        pages.append(original(quote))
        return pages[-1]

    monkeypatch.setattr(quote_pdf, "quote_html", capture)
    return pages


def _pdf_path(path: str) -> str:
    return path.rstrip("/") + "/pdf/"


@pytest.mark.parametrize(
    ("language", "filename", "words"),
    [
        ("de", "angebot-{label}.pdf", ("Angebot", "Rabatt", "gültig bis")),
        ("en", "quote-{label}.pdf", ("Quote", "Discount", "valid until")),
    ],
)
def test_the_pdf_in_the_customers_language(client, rep, rendered, language, filename, words):  # noqa: F811, E501
    quote, path = _sent(rep, language=language, note="Lieferung frei Haus.")
    rendered.clear()  # the e-mail's PDF
    DiscountApproval.objects.filter(quote=quote).update(
        reason="INTERN: Wettbewerber bietet 15 %", decision_note="INTERN: nur dieses Mal"
    )
    page = client.get(path, HTTP_ACCEPT_LANGUAGE="en" if language == "de" else "de")
    assert f'href="{_pdf_path(path)}"' in page.content.decode()

    response = client.get(_pdf_path(path))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    expected = filename.format(label=quote.label)
    assert response["Content-Disposition"] == f'attachment; filename="{expected}"'
    assert "no-store" in response["Cache-Control"]
    html = rendered[-1]
    assert f'lang="{language}"' in html
    for word in words:
        assert word in html
    assert "Lieferung frei Haus." in html  # the note for the customer
    assert "INTERN" not in html  # never the request's reason or the manager's note
    # Downloading (twice) leaves the single-use link as it was: the customer can still accept.
    assert client.get(_pdf_path(path)).status_code == 200
    quote.refresh_from_db()
    assert quote.token_used_at is None
    assert quote.state == QuoteState.SENT
    assert client.post(path, {"action": "accept"}).status_code == 200


def test_a_used_link_gives_no_pdf(client, rep, rendered):  # noqa: F811
    quote, path = _sent(rep, language="en")
    rendered.clear()  # the e-mail's PDF
    client.post(path, {"action": "accept"})
    response = client.get(_pdf_path(path))
    assert response.status_code == 410
    assert 'data-reason="accepted"' in response.content.decode()
    assert "attachment" not in response.get("Content-Disposition", "")
    assert not rendered


def test_an_expired_link_and_an_expired_quote_give_no_pdf(client, rep, rendered):  # noqa: F811
    quote, path = _sent(rep, language="de")
    rendered.clear()  # the e-mail's PDF
    Quote.objects.filter(pk=quote.pk).update(
        token_expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    response = client.get(_pdf_path(path))
    assert response.status_code == 410
    assert 'data-reason="link_expired"' in response.content.decode()
    assert "Dieser Link ist abgelaufen" in response.content.decode()
    Quote.objects.filter(pk=quote.pk).update(
        token_expires_at=timezone.now() + dt.timedelta(days=1),
        valid_until=timezone.localdate() - dt.timedelta(days=1),
    )
    assert 'data-reason="expired"' in client.get(_pdf_path(path)).content.decode()
    assert not rendered


def test_a_wrong_link_gives_no_pdf(client, rep, rendered):  # noqa: F811
    _sent(rep, language="de")
    rendered.clear()  # the e-mail's PDF
    for token in ("x" * 43, "not-a-token"):
        response = client.get(f"/q/{token}/pdf/", HTTP_ACCEPT_LANGUAGE="de")
        assert response.status_code == 404
        assert 'data-reason="unknown"' in response.content.decode()
        assert "Dieser Link funktioniert nicht" in response.content.decode()
    assert not rendered


def test_downloads_are_limited_per_ip_and_only_read(client, rep, rendered, monkeypatch):  # noqa: F811
    monkeypatch.setattr(public, "PDFS_PER_HOUR", 2)
    quote, path = _sent(rep, language="de")
    rendered.clear()  # the e-mail's PDF
    assert client.post(_pdf_path(path)).status_code == 405  # a download changes nothing
    for _ in range(2):
        assert client.get(_pdf_path(path)).status_code == 200
    refused = client.get(_pdf_path(path))
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert 'data-reason="throttled"' in refused.content.decode()
    # Another address still downloads, and the customer may still answer from hers.
    assert client.get(_pdf_path(path), REMOTE_ADDR="192.0.2.7").status_code == 200
    assert client.post(path, {"action": "decline"}).status_code == 200
    assert len(rendered) == 3
