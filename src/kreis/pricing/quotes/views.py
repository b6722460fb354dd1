"""The quotes of a deal: versions, discounts, approval, PDF, sending, acceptance."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kreis.pricing.models import QuoteState
from kreis.pricing.quotes import queries, services
from kreis.sales.queries import deal_get_for_user


def _errors(request: HttpRequest, exc: ValidationError) -> None:
    messages.error(request, " ".join(exc.messages))


@login_required
def deal_quotes(request: HttpRequest, deal_pk: int) -> HttpResponse:
    """The deal's quote versions (the section the deal page loads), and a new one from its lines."""
    deal = deal_get_for_user(user=request.user, pk=deal_pk, details=False)
    template = (
        "pricing/_deal_quotes.html"
        if request.headers.get("HX-Request")
        else "pricing/deal_quotes.html"
    )
    return render(
        request,
        template,
        {
            "deal": deal,
            "quotes": queries.quotes_of_deal(deal),
            "can_write": request.user.has_perm("core.change_record", deal),
            "check": services.deal_discount_check(deal),
            "deal_approvals": queries.approvals_of_deal_lines(deal),
        },
    )


@login_required
@require_POST
def deal_approval_request(request: HttpRequest, deal_pk: int) -> HttpResponse:
    """Ask a manager to approve the discounts on the deal's own line items."""
    deal = deal_get_for_user(user=request.user, pk=deal_pk, write=True)
    try:
        services.deal_approval_request(
            actor=request.user, deal=deal, reason=request.POST.get("reason", "")
        )
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("Approval requested; the managers are notified."))
    return redirect("pricing:deal_quotes", deal.pk)


@login_required
@require_POST
def quote_create(request: HttpRequest, deal_pk: int) -> HttpResponse:
    deal = deal_get_for_user(user=request.user, pk=deal_pk, write=True)
    try:
        quote = services.quote_create(
            actor=request.user, deal=deal, language=request.POST.get("language", "")
        )
    except ValidationError as exc:
        _errors(request, exc)
        return redirect("pricing:deal_quotes", deal.pk)
    return redirect("pricing:quote_detail", quote.pk)


@login_required
def quote_detail(request: HttpRequest, pk: int) -> HttpResponse:
    quote = queries.quote_get_for_user(user=request.user, pk=pk)
    can_write = request.user.has_perm("core.change_record", quote.deal)
    sees_deal = can_write or request.user.has_perm("core.view_record", quote.deal)
    return render(
        request,
        "pricing/quote_detail.html",
        {
            "quote": quote,
            "lines": list(
                quote.lines.select_related("product", "discount_rule").order_by("position", "pk")
            ),
            "approvals": quote.approvals.select_related("requested_by", "decided_by"),
            "history": queries.quotes_of_deal(quote.deal),
            "can_write": can_write,
            "sees_deal": sees_deal,
            "editable": can_write and quote.is_open,
            "limit": services.discount_limit_for(quote.created_by),
            "states": QuoteState,
        },
    )


@login_required
@require_POST
def quote_revise(request: HttpRequest, pk: int) -> HttpResponse:
    quote = queries.quote_get_for_user(user=request.user, pk=pk, write=True)
    discounts: dict[int, Decimal] = {}
    for line in quote.lines.all():
        raw = request.POST.get(f"discount_{line.pk}")
        if raw is None or raw.strip() == "":
            continue
        try:
            discounts[line.pk] = Decimal(raw.strip().replace(",", "."))
        except InvalidOperation:
            messages.error(request, _("Enter a percentage between 0 and 100."))
            return redirect("pricing:quote_detail", quote.pk)
    try:
        new = services.quote_revise(
            actor=request.user, quote=quote, discounts=discounts, note=request.POST.get("note")
        )
    except ValidationError as exc:
        _errors(request, exc)
        return redirect("pricing:quote_detail", quote.pk)
    messages.success(request, _("Version %(version)s made.") % {"version": new.version})
    return redirect("pricing:quote_detail", new.pk)


def _action(request: HttpRequest, pk: int, run, done: str) -> HttpResponse:
    quote = queries.quote_get_for_user(user=request.user, pk=pk, write=True)
    try:
        run(quote)
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, done)
    return redirect("pricing:quote_detail", quote.pk)


@login_required
@require_POST
def quote_submit(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(
        request,
        pk,
        lambda q: services.quote_submit(
            actor=request.user, quote=q, reason=request.POST.get("reason", "")
        ),
        _("Quote submitted."),
    )


@login_required
@require_POST
def quote_send(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(
        request,
        pk,
        lambda q: services.quote_send(
            actor=request.user,
            quote=q,
            email=request.POST.get("email", ""),
            base_url=request.build_absolute_uri("/"),
        ),
        _("Quote sent."),
    )


@login_required
@require_POST
def quote_accept(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(
        request,
        pk,
        lambda q: services.quote_accept(actor=request.user, quote=q, via="rep"),
        _("Quote accepted; the order is recorded."),
    )


@login_required
@require_POST
def quote_reject(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(
        request,
        pk,
        lambda q: services.quote_reject(
            actor=request.user, quote=q, via="rep", note=request.POST.get("note", "")
        ),
        _("Quote marked as rejected."),
    )


@login_required
def quote_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    quote = queries.quote_get_for_user(user=request.user, pk=pk)
    response = HttpResponse(services.quote_pdf(quote), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="quote-{quote.label}.pdf"'
    return response
