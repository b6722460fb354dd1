"""Pages for products and transactions: lists, details, forms, the party page's panel."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kreis.commerce import exports, queries, services
from kreis.commerce.forms import LineFormSet, ProductForm, TransactionForm
from kreis.commerce.models import Product, TransactionKind
from kreis.core.bulk import bulk_view
from kreis.core.exports import export_download
from kreis.core.models import Team
from kreis.core.queries import user_list_for_user
from kreis.core.web import (
    apply_errors,
    is_htmx,
    parse_date,
    parse_id,
    query_without_page,
)
from kreis.parties.queries import party_list_for_user

PAGE_SIZE = 25


def _int(value: str | None) -> int | None:
    return parse_id(value)


def _date(value: str | None) -> dt.date | None:
    return parse_date(value)


def _plain(number: Decimal) -> Decimal:
    """10.000 → 10 and 2.500 → 2.5: a stored quantity as a person would type it."""
    return (
        number.quantize(Decimal(1)) if number == number.to_integral_value() else number.normalize()
    )


def _can_manage_products(request: HttpRequest) -> bool:
    return request.user.has_perm("commerce.manage_products")


# --- products -------------------------------------------------------------------------------


def _product_params(request: HttpRequest) -> dict:
    return exports.product_params(request.GET)


@login_required
def product_list(request: HttpRequest) -> HttpResponse:
    params = _product_params(request)
    products = queries.product_list_for_user(user=request.user, **params)
    context = {
        "page": Paginator(products, PAGE_SIZE).get_page(request.GET.get("page")),
        "params": params,
        "active": request.GET.get("active", "1"),
        "categories": queries.product_categories(),
        "query": query_without_page(request),
        "can_manage": _can_manage_products(request),
        "sorts": [
            ("name", _("Name A–Z")),
            ("-name", _("Name Z–A")),
            ("sku", _("SKU")),
            ("price", _("Price, lowest first")),
            ("-price", _("Price, highest first")),
        ],
    }
    template = "commerce/_product_rows.html" if is_htmx(request) else "commerce/product_list.html"
    return render(request, template, context)


@login_required
def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    product = queries.product_get_for_user(user=request.user, pk=pk)
    context = {
        "product": product,
        "can_manage": _can_manage_products(request),
        "sales": queries.product_sales_summary(user=request.user, product=product),
        "history": product.history.select_related("history_user")[:20],
    }
    return render(request, "commerce/product_detail.html", context)


def _product_form_page(request: HttpRequest, product: Product | None) -> HttpResponse:
    if not _can_manage_products(request):
        raise PermissionDenied
    initial = {f: getattr(product, f) for f in services.PRODUCT_FIELDS} if product else None
    categories = queries.product_categories()
    form = ProductForm(request.POST or None, initial=initial, categories=categories)
    if request.method == "POST" and form.is_valid():
        try:
            if product is None:
                product = services.product_create(actor=request.user, **form.cleaned_data)
                messages.success(request, _("“%s” created.") % product)
            else:
                services.product_update(actor=request.user, product=product, **form.cleaned_data)
                messages.success(request, _("“%s” saved.") % product)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return redirect("commerce:product_detail", pk=product.pk)
    return render(request, "commerce/product_form.html", {"form": form, "product": product})


@login_required
def product_create(request: HttpRequest) -> HttpResponse:
    return _product_form_page(request, None)


@login_required
def product_edit(request: HttpRequest, pk: int) -> HttpResponse:
    product = queries.product_get_for_user(user=request.user, pk=pk, write=True)
    return _product_form_page(request, product)


@login_required
@require_POST
def product_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    product = queries.product_get_for_user(user=request.user, pk=pk, write=True)
    services.product_deactivate(actor=request.user, product=product)
    messages.success(request, _("“%s” is no longer sold.") % product)
    return redirect("commerce:product_detail", pk=product.pk)


# --- transactions ---------------------------------------------------------------------------


def _transaction_params(request: HttpRequest) -> dict:
    return exports.transaction_params(request.GET)


TRANSACTION_SORTS = [
    ("-date", gettext_lazy("Newest first")),
    ("date", gettext_lazy("Oldest first")),
    ("-revenue", gettext_lazy("Revenue, highest first")),
    ("revenue", gettext_lazy("Revenue, lowest first")),
    ("-margin", gettext_lazy("Margin, highest first")),
    ("margin", gettext_lazy("Margin, lowest first")),
]


@login_required
def transaction_list(request: HttpRequest) -> HttpResponse:
    params = _transaction_params(request)
    transactions = queries.transaction_list_for_user(user=request.user, **params)
    totals = transactions.order_by().aggregate(
        count=Count("pk"), revenue=Sum("signed_net_revenue"), margin=Sum("signed_margin")
    )
    paginator = Paginator(transactions, PAGE_SIZE)
    paginator.count = totals["count"]  # one query for the count and the sums
    page = paginator.get_page(request.GET.get("page"))
    totals |= {
        "revenue": queries.cents(totals["revenue"]),
        "margin": queries.cents(totals["margin"]),
    }
    context = {
        "page": page,
        "params": params,
        "totals": totals,
        "query": query_without_page(request),
        "can_write": not request.user.is_read_only,
    }
    if is_htmx(request):
        return render(request, "commerce/_transaction_rows.html", context)
    party = None
    if params["party_id"]:
        party = party_list_for_user(user=request.user).filter(pk=params["party_id"]).first()
    context |= {
        "party": party,
        "kinds": TransactionKind.choices,
        "products": Product.objects.order_by("name", "pk"),
        "categories": queries.product_categories(),
        "owners": user_list_for_user(user=request.user),
        "bulk_url": reverse("commerce:transaction_bulk"),
        "bulk_owners": user_list_for_user(user=request.user),
        "teams": Team.objects.order_by("name"),
        "sorts": TRANSACTION_SORTS,
    }
    return render(request, "commerce/transaction_list.html", context)


@login_required
def transaction_export(request: HttpRequest, fmt: str = "csv") -> StreamingHttpResponse:
    """The list as it is filtered and sorted: CSV (amounts as plain decimals with a dot),
    Excel or JSON."""
    export = exports.transaction_export(user=request.user, query=request.GET)
    return export_download(request, export, fmt)


@login_required
def product_export(request: HttpRequest, fmt: str = "csv") -> StreamingHttpResponse:
    """The catalogue as the product list shows it: CSV, Excel or JSON."""
    return export_download(
        request, exports.product_export(user=request.user, query=request.GET), fmt
    )


@login_required
def transaction_detail(request: HttpRequest, pk: int) -> HttpResponse:
    txn = queries.transaction_get_for_user(user=request.user, pk=pk)
    lines = list(txn.lines.all())
    for line in lines:
        line.quantity_shown = _plain(line.quantity)
    context = {
        "txn": txn,
        "lines": lines,
        "can_change": request.user.has_perm("core.change_record", txn),
    }
    return render(request, "commerce/transaction_detail.html", context)


def _line_errors(formset, forms_sent: list, exc: ValidationError) -> ValidationError | None:
    """Put ``lines.<i>.<field>`` errors on the line forms; return the rest (for the header)."""
    rest = {}
    for key, errors in exc.message_dict.items():
        parts = key.split(".")
        if parts[0] == "lines" and len(parts) == 3 and int(parts[1]) < len(forms_sent):
            form = forms_sent[int(parts[1])]
            field = "product" if parts[2] == "product_id" else parts[2]
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
        else:
            rest[key] = errors
    return ValidationError(rest) if rest else None


def _transaction_form_page(request: HttpRequest, txn) -> HttpResponse:
    parties = party_list_for_user(user=request.user)
    products = queries.product_choices(
        include={line.product_id for line in txn.lines.all() if line.product_id} if txn else None
    )
    initial = None
    if txn is not None:
        initial = {
            "kind": txn.kind,
            "party": f"{txn.party.name} (#{txn.party_id})",
            **{f: getattr(txn, f) for f in ("date", "number", "currency", "channel", "note")},
            "owner": txn.owner_id,
            "team": txn.team_id,
        }
        line_initial = [
            {
                "product": line.product,
                "description": line.description,
                "quantity": _plain(line.quantity),
                "unit_price": line.unit_price,
                "discount": line.discount or None,
            }
            for line in txn.lines.all()
        ]
    else:
        party = parties.filter(pk=_int(request.GET.get("party"))).first()
        initial = {
            "party": f"{party.name} (#{party.pk})" if party else "",
            "date": timezone.localdate(),
        }
        line_initial = []
    data = request.POST or None
    form = TransactionForm(data, initial=initial, parties=parties, editing=txn is not None)
    formset = LineFormSet(
        data, initial=line_initial, prefix="lines", form_kwargs={"products": products}
    )
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        forms_sent = [
            f for f in formset.forms if f.has_changed() and not formset._should_delete_form(f)
        ]
        header = dict(form.cleaned_data)
        args = {
            "party": header.pop("party"),
            "owner": header.pop("owner"),
            "team": header.pop("team"),
            "lines": [f.line() for f in forms_sent],
            **header,
        }
        if txn is not None:  # an empty owner or team on the edit page keeps the old one
            args = {k: v for k, v in args.items() if v is not None or k not in {"owner", "team"}}
        try:
            if txn is None:
                txn = services.transaction_create(actor=request.user, **args)
                messages.success(request, _("%s recorded.") % txn)
            else:
                services.transaction_update(actor=request.user, transaction=txn, **args)
                messages.success(request, _("%s saved.") % txn)
        except ValidationError as exc:
            rest = _line_errors(formset, forms_sent, exc)
            if rest is not None:
                apply_errors(form, rest)
        else:
            return redirect("commerce:transaction_detail", pk=txn.pk)
    context = {"form": form, "formset": formset, "txn": txn}
    return render(request, "commerce/transaction_form.html", context)


@login_required
def transaction_create(request: HttpRequest) -> HttpResponse:
    if request.user.is_read_only:
        raise PermissionDenied
    return _transaction_form_page(request, None)


@login_required
def transaction_edit(request: HttpRequest, pk: int) -> HttpResponse:
    txn = queries.transaction_get_for_user(user=request.user, pk=pk, write=True)
    return _transaction_form_page(request, txn)


@login_required
@require_POST
def transaction_delete(request: HttpRequest, pk: int) -> HttpResponse:
    txn = queries.transaction_get_for_user(user=request.user, pk=pk, write=True)
    services.transaction_delete(actor=request.user, transaction=txn)
    messages.success(request, _("%s deleted.") % txn)
    return redirect("commerce:transaction_list")


transaction_bulk = bulk_view(
    actions=services.TRANSACTION_BULK,
    records=queries.transactions_for_bulk,
    list_url="commerce:transaction_list",
)


@login_required
def party_lookup(request: HttpRequest) -> HttpResponse:
    """Suggestions while typing the customer: ``<option>``s of parties the user may see."""
    text = re.sub(r"\s*\(#\d+\)?\s*$", "", request.GET.get("party", "")).strip()[:100]
    parties = party_list_for_user(user=request.user, search=text)[:20] if len(text) >= 2 else []
    return render(request, "parties/_lookup_options.html", {"parties": parties})


@login_required
def party_panel(request: HttpRequest, party_pk: int) -> HttpResponse:
    """The party page's panel: revenue and margin of the last 12 months, last transactions."""
    party = queries.party_for_panel(user=request.user, pk=party_pk)
    context = {
        "party": party,
        "summary": queries.party_revenue_summary(user=request.user, party=party),
        "recent": queries.party_recent_transactions(user=request.user, party=party),
        "can_write": not request.user.is_read_only,
    }
    return render(request, "commerce/_party_panel.html", context)
