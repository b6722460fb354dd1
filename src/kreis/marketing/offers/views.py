"""Content offers: marketing's pages (offers, follow-up rules, what was sent) and the public
download link."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kreis.core.web import apply_errors
from kreis.marketing.offers import queries, services
from kreis.marketing.offers.forms import OfferForm, RuleForm


def _need(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


@login_required
def offer_list(request: HttpRequest) -> HttpResponse:
    _need(request, "marketing.view")
    return render(
        request,
        "marketing/offers/list.html",
        {
            "offers": queries.offer_list_for_user(user=request.user),
            "can_add": request.user.has_perm("marketing.add"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def offer_create(request: HttpRequest) -> HttpResponse:
    _need(request, "marketing.add")
    form = OfferForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            offer = services.offer_create(
                actor=request.user, file=form.cleaned_data["file"], **form.service_fields()
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Offer “%(name)s” uploaded.") % {"name": offer.name})
            return redirect(reverse("marketing:offers:list"))
    return render(
        request,
        "marketing/offers/form.html",
        {"form": form, "offer": None},
        status=422 if form.is_bound else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def offer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    offer = queries.offer_get_for_user(user=request.user, pk=pk)
    can_change = request.user.has_perm("marketing.change_record", offer)
    form = OfferForm(request.POST or None, request.FILES or None, instance=offer)
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.offer_update(
                    actor=request.user,
                    offer=offer,
                    file=form.cleaned_data.get("file"),
                    **form.service_fields(),
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Offer saved."))
                return redirect(reverse("marketing:offers:list"))
    downloads = queries.downloads_for_user(user=request.user, offer=offer)[:50]
    return render(
        request,
        "marketing/offers/form.html",
        {"form": form, "offer": offer, "can_change": can_change, "downloads": downloads},
        status=422 if form.is_bound else 200,
    )


@login_required
@require_POST
def offer_delete(request: HttpRequest, pk: int) -> HttpResponse:
    offer = queries.offer_get_for_user(user=request.user, pk=pk, write=True)
    services.offer_delete(actor=request.user, offer=offer)
    messages.success(request, _("Offer deleted."))
    return redirect(reverse("marketing:offers:list"))


@login_required
def rule_list(request: HttpRequest) -> HttpResponse:
    _need(request, "marketing.view")
    return render(
        request,
        "marketing/offers/rules.html",
        {
            "rules": queries.rule_list_for_user(user=request.user),
            "can_add": request.user.has_perm("marketing.add"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    if pk is None:
        _need(request, "marketing.add")
        rule = None
    else:
        rule = queries.rule_get_for_user(user=request.user, pk=pk, write=request.method == "POST")
    form = RuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        try:
            services.rule_save(actor=request.user, rule=rule, **form.service_fields())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Follow-up rule saved."))
            return redirect(reverse("marketing:offers:rules"))
    return render(
        request,
        "marketing/offers/rule_form.html",
        {
            "form": form,
            "rule": rule,
            "can_change": rule is None or request.user.has_perm("marketing.change_record", rule),
        },
        status=422 if form.is_bound else 200,
    )


@login_required
@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = queries.rule_get_for_user(user=request.user, pk=pk, write=True)
    services.rule_delete(actor=request.user, rule=rule)
    messages.success(request, _("Follow-up rule deleted."))
    return redirect(reverse("marketing:offers:rules"))


@login_required
def sent_list(request: HttpRequest) -> HttpResponse:
    """Which offers went to whom: follow-ups sent, and download links handed out."""
    _need(request, "marketing.view")
    page = Paginator(queries.sent_for_user(user=request.user), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "marketing/offers/sent.html",
        {"page": page, "downloads": queries.downloads_for_user(user=request.user)[:50]},
    )
