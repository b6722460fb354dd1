"""The customer's page behind a quote's link: accept or decline, German or English, phone-sized,
and the quote's PDF to download (``/q/<token>/pdf/``).

No sign-in; the link's token is the key (256 bits, single use, expiring). CSRF-protected, and
POSTs (and PDF downloads) are limited per IP address and hour (kreis.core.publicforms)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET

from kreis.core.publicforms import seconds_until_allowed, throttled
from kreis.pricing.models import Quote, QuoteState
from kreis.pricing.quotes import services

POSTS_PER_HOUR = 30
# Rendering a PDF costs the server more than a page: downloads have an allowance of their own
# (so they never use up the customer's accept or decline).
PDFS_PER_HOUR = 30


def _contact(quote: Quote):
    """The rep who made the quote, whom the customer can ask (an active user only)."""
    rep = quote.created_by
    return rep if rep is not None and rep.is_active else None


def _why_closed(quote: Quote) -> str:
    """Why the link no longer opens the quote, in the customer's terms."""
    if quote.state in (QuoteState.ACCEPTED, QuoteState.REJECTED, QuoteState.SUPERSEDED):
        return quote.state
    if quote.state == QuoteState.EXPIRED or quote.valid_until < timezone.localdate():
        return "expired"
    if quote.token_used_at is None and quote.token_expires_at is not None:
        if quote.token_expires_at <= timezone.now():
            return "link_expired"
    return "closed"


def _closed(request: HttpRequest, quote: Quote, language: str) -> HttpResponse:
    context = {
        "language": language,
        "quote": quote,
        "reason": _why_closed(quote),
        "contact": _contact(quote),
    }
    return render(request, "pricing/public_closed.html", context, status=410)


def _throttled(request: HttpRequest, language: str, wait: int) -> HttpResponse:
    return throttled(
        render(request, "pricing/public_closed.html", {"language": language, "throttled": True}),
        wait,
    )


@never_cache
@csrf_protect
def respond(request: HttpRequest, token: str) -> HttpResponse:
    quote = services.quote_for_token(token)
    language = quote.language if quote is not None else (translation.get_language() or "en")
    with translation.override(language):
        if quote is None:
            context = {"language": language, "reason": "unknown"}
            return render(request, "pricing/public_closed.html", context, status=404)
        if request.method == "POST":
            wait = seconds_until_allowed(request, scope="quote-respond", per_hour=POSTS_PER_HOUR)
            if wait is not None:
                return _throttled(request, language, wait)
            action = request.POST.get("action")
            try:
                if action == "accept":
                    services.quote_accept(actor=None, quote=quote, via="link")
                elif action == "decline":
                    services.quote_reject(
                        actor=None,
                        quote=quote,
                        via="link",
                        note=request.POST.get("note", "")[:1000],
                    )
                else:
                    raise ValidationError("unknown action")
            except ValidationError:
                quote.refresh_from_db()
                return _closed(request, quote, language)
            quote.refresh_from_db()
            return render(
                request, "pricing/public_done.html", {"quote": quote, "language": language}
            )
        if not services.link_usable(quote):
            return _closed(request, quote, language)
        return render(
            request,
            "pricing/public_quote.html",
            {
                "quote": quote,
                "lines": list(quote.lines.order_by("position", "pk")),
                "discount_total": quote.gross_total - quote.net_total,
                "contact": _contact(quote),
                "language": language,
                "token": token,
            },
        )


@never_cache
@require_GET
def pdf(request: HttpRequest, token: str) -> HttpResponse:
    """``/q/<token>/pdf/``: the quote as the PDF the e-mail carries, in the customer's language,
    as an attachment. The same link rules as the page (a closed, expired or wrong link gets the
    page that says why); downloading does not use up the single-use link."""
    quote = services.quote_for_token(token)
    language = quote.language if quote is not None else (translation.get_language() or "en")
    with translation.override(language):
        if quote is None:
            context = {"language": language, "reason": "unknown"}
            return render(request, "pricing/public_closed.html", context, status=404)
        if not services.link_usable(quote):
            return _closed(request, quote, language)
        wait = seconds_until_allowed(request, scope="quote-pdf", per_hour=PDFS_PER_HOUR)
        if wait is not None:
            return _throttled(request, language, wait)
        filename = services.quote_pdf_filename(quote)
        response = HttpResponse(services.quote_pdf(quote), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Content-Language"] = language
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    return response  # never_cache: Cache-Control no-store (and no-cache, private)
