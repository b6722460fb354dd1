"""Pages of price lists, discount rules and discount limits (sales managers change them)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kreis.core.web import apply_errors, csv_response
from kreis.pricing.pricelists import queries, services
from kreis.pricing.pricelists.forms import (
    DiscountRuleForm,
    ImportForm,
    ItemForm,
    PriceListForm,
    RepLimitForm,
    SettingsForm,
)


def _manager(request: HttpRequest) -> None:
    if not request.user.has_perm("pricing.manage"):
        raise PermissionDenied


@login_required
def price_list_list(request: HttpRequest) -> HttpResponse:
    lists = queries.price_list_list_for_user(user=request.user)
    return render(
        request,
        "pricing/price_lists.html",
        {
            "lists": lists,
            "can_manage": request.user.has_perm("pricing.manage"),
            "import_form": ImportForm(),
            "today": timezone.localdate(),
        },
    )


@login_required
def price_list_create(request: HttpRequest) -> HttpResponse:
    _manager(request)
    form = PriceListForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            plist = services.price_list_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return redirect("pricing:price_list_detail", plist.pk)
    return render(
        request,
        "pricing/form.html",
        {"form": form, "title": _("New price list")},
        status=422 if form.errors else 200,
    )


@login_required
def price_list_detail(request: HttpRequest, pk: int) -> HttpResponse:
    plist = queries.price_list_get_for_user(user=request.user, pk=pk)
    form = ItemForm(request.POST or None)
    if request.method == "POST":
        _manager(request)
        if form.is_valid():
            try:
                services.item_set(actor=request.user, price_list=plist, **form.cleaned_data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Price saved."))
                return redirect("pricing:price_list_detail", plist.pk)
    return render(
        request,
        "pricing/price_list_detail.html",
        {
            "plist": plist,
            "items": queries.items_of(plist),
            "form": form,
            "can_manage": request.user.has_perm("pricing.manage"),
        },
        status=422 if form.errors else 200,
    )


@login_required
def price_list_edit(request: HttpRequest, pk: int) -> HttpResponse:
    plist = queries.price_list_get_for_user(user=request.user, pk=pk, write=True)
    form = PriceListForm(request.POST or None, instance=plist)
    if request.method == "POST" and form.is_valid():
        try:
            services.price_list_update(actor=request.user, price_list=plist, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return redirect("pricing:price_list_detail", plist.pk)
    return render(
        request,
        "pricing/form.html",
        {"form": form, "title": plist.name},
        status=422 if form.errors else 200,
    )


@login_required
@require_POST
def price_list_delete(request: HttpRequest, pk: int) -> HttpResponse:
    plist = queries.price_list_get_for_user(user=request.user, pk=pk, write=True)
    services.price_list_delete(actor=request.user, price_list=plist)
    messages.success(request, _("Price list deleted."))
    return redirect("pricing:price_lists")


@login_required
@require_POST
def item_delete(request: HttpRequest, pk: int) -> HttpResponse:
    item = queries.item_get_for_user(user=request.user, pk=pk, write=True)
    plist_pk = item.price_list_id
    services.item_delete(actor=request.user, item=item)
    return redirect("pricing:price_list_detail", plist_pk)


@login_required
def price_list_export(request: HttpRequest) -> HttpResponse:
    lists = queries.price_list_list_for_user(user=request.user)
    return csv_response("price-lists.csv", services.CSV_COLUMNS, services.export_rows(lists))


@login_required
@require_POST
def price_list_import(request: HttpRequest) -> HttpResponse:
    _manager(request)
    form = ImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            text = form.cleaned_data["file"].read().decode("utf-8-sig")
            result = services.import_csv(actor=request.user, text=text)
        except UnicodeDecodeError:
            messages.error(request, _("The file is not UTF-8 text."))
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages[:20]))
        else:
            messages.success(
                request,
                _("%(items)d prices imported, %(lists)d new price lists.")
                % {"items": result.items_set, "lists": result.lists_created},
            )
    else:
        messages.error(request, _("Choose a CSV file."))
    return redirect("pricing:price_lists")


@login_required
def rule_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "pricing/rules.html",
        {
            "rules": queries.discount_rule_list_for_user(user=request.user),
            "can_manage": request.user.has_perm("pricing.manage"),
        },
    )


@login_required
def rule_create(request: HttpRequest) -> HttpResponse:
    _manager(request)
    form = DiscountRuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.discount_rule_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return redirect("pricing:rules")
    return render(
        request,
        "pricing/form.html",
        {"form": form, "title": _("New discount rule")},
        status=422 if form.errors else 200,
    )


@login_required
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule = queries.discount_rule_get_for_user(user=request.user, pk=pk, write=True)
    form = DiscountRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        try:
            services.discount_rule_update(actor=request.user, rule=rule, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return redirect("pricing:rules")
    return render(
        request,
        "pricing/form.html",
        {"form": form, "title": rule.name},
        status=422 if form.errors else 200,
    )


@login_required
@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = queries.discount_rule_get_for_user(user=request.user, pk=pk, write=True)
    services.discount_rule_delete(actor=request.user, rule=rule)
    return redirect("pricing:rules")


@login_required
def limits(request: HttpRequest) -> HttpResponse:
    """The default discount limit and validity periods, and the reps' own limits."""
    can_manage = request.user.has_perm("pricing.manage")
    config = services.ensure_defaults()
    settings_form = SettingsForm(instance=config)
    limit_form = RepLimitForm()
    status = 200
    if request.method == "POST":
        _manager(request)
        if request.POST.get("form") == "limit":
            limit_form = RepLimitForm(request.POST)
            if limit_form.is_valid():
                services.rep_limit_set(actor=request.user, **limit_form.cleaned_data)
                messages.success(request, _("Discount limit saved."))
                return redirect("pricing:limits")
        else:
            settings_form = SettingsForm(request.POST, instance=config)
            if settings_form.is_valid():
                try:
                    services.settings_update(actor=request.user, **settings_form.cleaned_data)
                except ValidationError as exc:
                    apply_errors(settings_form, exc)
                else:
                    messages.success(request, _("Settings saved."))
                    return redirect("pricing:limits")
        status = 422
    return render(
        request,
        "pricing/limits.html",
        {
            "config": config,
            "settings_form": settings_form,
            "limit_form": limit_form,
            "limits": queries.rep_limits(),
            "can_manage": can_manage,
        },
        status=status,
    )
