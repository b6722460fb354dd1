"""API routes for prices and quotes (/api/v1/pricing/…): price lists and their items, discount
rules, the pricing settings and reps' limits, the price that applies, the quotes of a deal and
their transitions, and the approvals inbox. Each route calls the service the pages call."""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from kreis.commerce.models import Product, SalesChannel
from kreis.core.api_support import (
    PROBLEM_RESPONSES,
    IdValue,
    Input,
    ObjectId,
    Pagination,
    check_if_match,
    etag,
    if_match_write,
    with_etag,
)
from kreis.core.models import User
from kreis.marketing.models import Segment
from kreis.parties.models import AbcClass
from kreis.parties.queries import party_get_for_user
from kreis.pricing.models import QuoteState, WithdrawalReason
from kreis.pricing.pricelists import queries as price_queries
from kreis.pricing.pricelists import services as prices
from kreis.pricing.quotes import queries as quote_queries
from kreis.pricing.quotes import services as quotes
from kreis.sales.queries import deal_get_for_user

router = Router(tags=["pricing"])

Text = Annotated[str, Field(max_length=2000, pattern=r"^[^\x00]*$")]
Name = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[^\x00]*$")]
Currency = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]
Amount = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
Quantity = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=3)]
ChannelName = Literal[("", *SalesChannel.values)]  # type: ignore[valid-type]
AbcName = Literal[("", *AbcClass.values)]  # type: ignore[valid-type]
QuoteStateName = Literal[tuple(QuoteState.values)]  # type: ignore[valid-type]


class PricingPriceListOut(Schema):
    id: int
    name: str
    currency: str
    segment_id: int | None
    channel: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    is_active: bool
    notes: str
    updated_at: dt.datetime


class PricingPriceListWrite(Input):
    currency: Currency | None = None
    segment_id: IdValue | None = None
    channel: ChannelName | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    is_active: bool | None = None
    notes: Annotated[str, Field(max_length=300, pattern=r"^[^\x00]*$")] | None = None


class PricingPriceListCreate(PricingPriceListWrite):
    name: Name


class PricingPriceListUpdate(PricingPriceListWrite):
    name: Name | None = None


class PricingItemOut(Schema):
    id: int
    price_list_id: int
    product_id: int
    min_quantity: Decimal
    unit_price: Decimal


class PricingItemIn(Input):
    product_id: IdValue
    unit_price: Amount
    min_quantity: Quantity = Decimal("1")


class PricingRuleOut(Schema):
    id: int
    name: str
    percent: Decimal
    abc_class: str
    segment_id: int | None
    min_quantity: Decimal | None
    valid_from: dt.date | None
    valid_to: dt.date | None
    is_active: bool
    updated_at: dt.datetime


class PricingRuleWrite(Input):
    abc_class: AbcName | None = None
    segment_id: IdValue | None = None
    min_quantity: Quantity | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    is_active: bool | None = None


class PricingRuleCreate(PricingRuleWrite):
    name: Name
    percent: Percent


class PricingRuleUpdate(PricingRuleWrite):
    name: Name | None = None
    percent: Percent | None = None


class PricingSettingsOut(Schema):
    default_discount_limit: Decimal
    quote_valid_days: int
    link_valid_days: int
    updated_at: dt.datetime


class PricingSettingsIn(Input):
    default_discount_limit: Percent | None = None
    quote_valid_days: Annotated[int, Field(ge=1, le=365)] | None = None
    link_valid_days: Annotated[int, Field(ge=1, le=365)] | None = None


class PricingRepLimitOut(Schema):
    user_id: int
    limit_percent: Decimal
    is_default: bool


class PricingRepLimitIn(Input):
    limit_percent: Percent | None = Field(None, description="None: the default applies.")


class PricingAppliedPriceOut(Schema):
    unit_price: Decimal
    currency: str
    price_list_id: int | None
    source: str
    discount_percent: Decimal
    discount_rule_id: int | None


class PricingQuoteLineOut(Schema):
    id: int
    position: int
    product_id: int | None
    description: str
    quantity: Decimal
    unit_price: Decimal
    price_source: str
    price_list_id: int | None
    rule_percent: Decimal
    discount_rule_id: int | None
    discount_percent: Decimal
    net: Decimal


class PricingQuoteOut(Schema):
    id: int
    deal_id: int
    number: str
    version: int
    state: str
    party_id: int
    currency: str
    language: str
    valid_until: dt.date
    email: str
    gross_total: Decimal
    net_total: Decimal
    max_discount: Decimal
    needs_approval: bool
    note: str
    sent_at: dt.datetime | None
    decided_at: dt.datetime | None
    decided_via: str
    order_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    lines: list[PricingQuoteLineOut]

    @staticmethod
    def resolve_lines(obj) -> list:
        return list(obj.lines.order_by("position", "pk"))


class PricingQuoteCreate(Input):
    language: Literal["", "de", "en"] = ""
    note: Text = ""


class PricingLineDiscount(Input):
    line_id: IdValue
    percent: Percent


class PricingQuoteRevise(Input):
    discounts: list[PricingLineDiscount] = Field(default_factory=list, max_length=500)
    note: Text | None = None


class PricingQuoteSubmit(Input):
    reason: Text = ""


class PricingQuoteSend(Input):
    email: Annotated[str, Field(max_length=254, pattern=r"^[^\x00]*$")] = ""


class PricingQuoteReject(Input):
    note: Text = ""


class PricingApprovalOut(Schema):
    id: int
    deal_id: int | None
    quote_id: int | None
    requested_discount: Decimal
    limit_percent: Decimal
    reason: str
    requested_by_id: int | None
    requested_at: dt.datetime
    status: str
    decided_by_id: int | None
    decided_at: dt.datetime | None
    decision_note: str
    # Why a withdrawn request ended without a decision: "quote_revised" or "lines_changed"
    # (the stored code, like every choice field here; "" unless withdrawn).
    withdrawn_because: Literal[("", *WithdrawalReason.values)]  # type: ignore[valid-type]
    updated_at: dt.datetime


class PricingDealDiscountOut(Schema):
    deal_id: int
    state: str
    over: Decimal
    limit: Decimal
    approved: Decimal
    pending_approval_id: int | None


class PricingDealApprovalRequest(Input):
    reason: Text


class PricingApprovalDecide(Input):
    approve: bool
    note: Text = ""


def _view(request: HttpRequest) -> None:
    if not request.auth.has_perm("pricing.view"):
        raise PermissionDenied


def _segment(segment_id: int | None) -> Segment | None:
    if segment_id is None:
        return None
    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is None:
        raise ValidationError({"segment_id": _("No such segment.")})
    return segment


def _fields(payload: Input) -> dict:
    data = payload.model_dump(exclude_unset=True)
    if "segment_id" in data:
        data["segment"] = _segment(data.pop("segment_id"))
    for key in ("is_active", "name", "currency", "channel", "notes", "percent", "abc_class"):
        if key in data and data[key] is None:
            data.pop(key)
    return data


# --- Price lists ---------------------------------------------------------------------------


@router.get(
    "/pricing/price-lists",
    response=list[PricingPriceListOut],
    summary="List price lists",
    operation_id="pricing_price_list_list",
)
@paginate(Pagination)
def price_list_list(request: HttpRequest, active: bool | None = None):
    _view(request)
    qs = price_queries.price_list_list_for_user(user=request.auth)
    return qs.filter(is_active=active) if active is not None else qs


@router.post(
    "/pricing/price-lists",
    response={201: PricingPriceListOut, **PROBLEM_RESPONSES},
    summary="Create a price list (sales managers)",
    operation_id="pricing_price_list_create",
)
def price_list_create(
    request: HttpRequest, payload: PricingPriceListCreate, response: HttpResponse
):
    plist = prices.price_list_create(actor=request.auth, **_fields(payload))
    response["ETag"] = etag(plist)
    return Status(201, plist)


@router.get(
    "/pricing/price-lists/{price_list_id}",
    response={200: PricingPriceListOut, **PROBLEM_RESPONSES},
    summary="A price list",
    operation_id="pricing_price_list_detail",
)
def price_list_detail(request: HttpRequest, price_list_id: ObjectId, response: HttpResponse):
    return with_etag(
        response, price_queries.price_list_get_for_user(user=request.auth, pk=price_list_id)
    )


@router.patch(
    "/pricing/price-lists/{price_list_id}",
    response={200: PricingPriceListOut, **PROBLEM_RESPONSES},
    summary="Change a price list",
    operation_id="pricing_price_list_update",
)
def price_list_update(
    request: HttpRequest,
    price_list_id: ObjectId,
    payload: PricingPriceListUpdate,
    response: HttpResponse,
):
    plist = price_queries.price_list_get_for_user(user=request.auth, pk=price_list_id, write=True)
    return if_match_write(
        request,
        plist,
        lambda plist: prices.price_list_update(
            actor=request.auth, price_list=plist, **_fields(payload)
        ),
        response,
    )


@router.delete(
    "/pricing/price-lists/{price_list_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a price list and its prices",
    operation_id="pricing_price_list_delete",
)
def price_list_delete(request: HttpRequest, price_list_id: ObjectId):
    plist = price_queries.price_list_get_for_user(user=request.auth, pk=price_list_id, write=True)
    if_match_write(
        request, plist, lambda plist: prices.price_list_delete(actor=request.auth, price_list=plist)
    )
    return Status(204, None)


@router.get(
    "/pricing/price-lists/{price_list_id}/items",
    response={200: list[PricingItemOut], **PROBLEM_RESPONSES},
    summary="The prices of a list",
    operation_id="pricing_price_list_items",
)
@paginate(Pagination)
def price_list_items(request: HttpRequest, price_list_id: ObjectId):
    plist = price_queries.price_list_get_for_user(user=request.auth, pk=price_list_id)
    return price_queries.items_of(plist)


@router.post(
    "/pricing/price-lists/{price_list_id}/items",
    response={200: PricingItemOut, **PROBLEM_RESPONSES},
    summary="Set a product's price on the list from a quantity on",
    operation_id="pricing_price_list_item_set",
)
def price_list_item_set(request: HttpRequest, price_list_id: ObjectId, payload: PricingItemIn):
    plist = price_queries.price_list_get_for_user(user=request.auth, pk=price_list_id, write=True)
    check_if_match(request, plist)
    product = Product.objects.filter(pk=payload.product_id).first()
    if product is None:
        raise ValidationError({"product_id": _("No such product.")})
    return prices.item_set(
        actor=request.auth,
        price_list=plist,
        product=product,
        unit_price=payload.unit_price,
        min_quantity=payload.min_quantity,
    )


@router.delete(
    "/pricing/price-list-items/{item_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Remove a price from its list (If-Match: the list's ETag)",
    operation_id="pricing_price_list_item_delete",
)
def price_list_item_delete(request: HttpRequest, item_id: ObjectId):
    item = price_queries.item_get_for_user(user=request.auth, pk=item_id, write=True)
    check_if_match(request, item.price_list)
    prices.item_delete(actor=request.auth, item=item)
    return Status(204, None)


@router.get(
    "/pricing/price",
    response={200: PricingAppliedPriceOut, **PROBLEM_RESPONSES},
    summary="The price and the rule discount that apply to a party buying a product",
    operation_id="pricing_price_resolve",
)
def price_resolve(
    request: HttpRequest,
    product_id: IdValue,
    party_id: IdValue,
    quantity: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=3)] = Decimal("1"),
    currency: Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")] = "EUR",
    channel: ChannelName = "",
    on: dt.date | None = None,
):
    _view(request)
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        raise ValidationError({"product_id": _("No such product.")})
    party = party_get_for_user(user=request.auth, pk=party_id)
    memberships = prices.Memberships(party)
    applied = prices.price_for(
        product=product,
        party=party,
        currency=currency.upper(),
        channel=channel,
        on=on,
        quantity=quantity,
        memberships=memberships,
    )
    discount = prices.best_discount(party=party, quantity=quantity, on=on, memberships=memberships)
    return {
        "unit_price": applied.unit_price,
        "currency": applied.price_list.currency if applied.price_list else product.currency,
        "price_list_id": applied.price_list.pk if applied.price_list else None,
        "source": applied.source,
        "discount_percent": discount.percent,
        "discount_rule_id": discount.rule.pk if discount.rule else None,
    }


# --- Discount rules, settings, limits ------------------------------------------------------


@router.get(
    "/pricing/discount-rules",
    response=list[PricingRuleOut],
    summary="List discount rules",
    operation_id="pricing_rule_list",
)
@paginate(Pagination)
def rule_list(request: HttpRequest):
    _view(request)
    return price_queries.discount_rule_list_for_user(user=request.auth)


@router.post(
    "/pricing/discount-rules",
    response={201: PricingRuleOut, **PROBLEM_RESPONSES},
    summary="Create a discount rule (sales managers)",
    operation_id="pricing_rule_create",
)
def rule_create(request: HttpRequest, payload: PricingRuleCreate, response: HttpResponse):
    rule = prices.discount_rule_create(actor=request.auth, **_fields(payload))
    response["ETag"] = etag(rule)
    return Status(201, rule)


@router.get(
    "/pricing/discount-rules/{discount_rule_id}",
    response={200: PricingRuleOut, **PROBLEM_RESPONSES},
    summary="A discount rule",
    operation_id="pricing_rule_detail",
)
def rule_detail(request: HttpRequest, discount_rule_id: ObjectId, response: HttpResponse):
    return with_etag(
        response, price_queries.discount_rule_get_for_user(user=request.auth, pk=discount_rule_id)
    )


@router.patch(
    "/pricing/discount-rules/{discount_rule_id}",
    response={200: PricingRuleOut, **PROBLEM_RESPONSES},
    summary="Change a discount rule",
    operation_id="pricing_rule_update",
)
def rule_update(
    request: HttpRequest,
    discount_rule_id: ObjectId,
    payload: PricingRuleUpdate,
    response: HttpResponse,
):
    rule = price_queries.discount_rule_get_for_user(
        user=request.auth, pk=discount_rule_id, write=True
    )
    return if_match_write(
        request,
        rule,
        lambda rule: prices.discount_rule_update(actor=request.auth, rule=rule, **_fields(payload)),
        response,
    )


@router.delete(
    "/pricing/discount-rules/{discount_rule_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a discount rule",
    operation_id="pricing_rule_delete",
)
def rule_delete(request: HttpRequest, discount_rule_id: ObjectId):
    rule = price_queries.discount_rule_get_for_user(
        user=request.auth, pk=discount_rule_id, write=True
    )
    if_match_write(
        request, rule, lambda rule: prices.discount_rule_delete(actor=request.auth, rule=rule)
    )
    return Status(204, None)


@router.get(
    "/pricing/settings",
    response={200: PricingSettingsOut, **PROBLEM_RESPONSES},
    summary="The default discount limit and validity periods",
    operation_id="pricing_settings_detail",
)
def settings_detail(request: HttpRequest, response: HttpResponse):
    _view(request)
    config = prices.ensure_defaults()
    response["ETag"] = etag(config)
    return config


@router.patch(
    "/pricing/settings",
    response={200: PricingSettingsOut, **PROBLEM_RESPONSES},
    summary="Change the pricing settings (sales managers)",
    operation_id="pricing_settings_update",
)
def settings_update(request: HttpRequest, payload: PricingSettingsIn, response: HttpResponse):
    if not request.auth.has_perm("pricing.manage"):
        raise PermissionDenied
    changes = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    return if_match_write(
        request,
        prices.ensure_defaults(),
        lambda _config: prices.settings_update(actor=request.auth, **changes),
        response,
    )


@router.get(
    "/pricing/rep-limits/{user_id}",
    response={200: PricingRepLimitOut, **PROBLEM_RESPONSES},
    summary="A user's discount limit (her own or the default)",
    operation_id="pricing_rep_limit_detail",
)
def rep_limit_detail(request: HttpRequest, user_id: ObjectId):
    _view(request)
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise ValidationError({"user_id": _("No such user.")})
    own = price_queries.rep_limits().filter(user=user).first()
    return {
        "user_id": user.pk,
        "limit_percent": prices.discount_limit_for(user),
        "is_default": own is None,
    }


@router.put(
    "/pricing/rep-limits/{user_id}",
    response={200: PricingRepLimitOut, **PROBLEM_RESPONSES},
    summary="Set a user's discount limit; null returns her to the default (sales managers)",
    operation_id="pricing_rep_limit_set",
)
def rep_limit_set(request: HttpRequest, user_id: ObjectId, payload: PricingRepLimitIn):
    if not request.auth.has_perm("pricing.manage"):
        raise PermissionDenied
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise ValidationError({"user_id": _("No such user.")})
    own = prices.rep_limit_set(actor=request.auth, user=user, limit_percent=payload.limit_percent)
    return {
        "user_id": user.pk,
        "limit_percent": prices.discount_limit_for(user),
        "is_default": own is None,
    }


# --- Quotes ----------------------------------------------------------------------------------


def _quote(request: HttpRequest, quote_id: int, *, write: bool = False):
    return quote_queries.quote_get_for_user(user=request.auth, pk=quote_id, write=write)


def _quote_write(request: HttpRequest, quote_id: int, change, response: HttpResponse):
    """A transition of a quote the caller may change, answered with the quote as stored now."""

    def changed(quote):
        quote = change(quote)
        quote.refresh_from_db()
        return quote

    return if_match_write(request, _quote(request, quote_id, write=True), changed, response)


@router.get(
    "/pricing/deals/{deal_id}/quotes",
    response={200: list[PricingQuoteOut], **PROBLEM_RESPONSES},
    summary="The quote versions of a deal",
    operation_id="pricing_deal_quotes",
)
def deal_quotes(request: HttpRequest, deal_id: ObjectId):
    deal = deal_get_for_user(user=request.auth, pk=deal_id, details=False)
    return list(quote_queries.quotes_of_deal(deal).prefetch_related("lines"))


@router.post(
    "/pricing/deals/{deal_id}/quotes",
    response={201: PricingQuoteOut, **PROBLEM_RESPONSES},
    summary="A new quote version from the deal's lines, priced now",
    operation_id="pricing_quote_create",
)
def quote_create(
    request: HttpRequest, deal_id: ObjectId, payload: PricingQuoteCreate, response: HttpResponse
):
    deal = deal_get_for_user(user=request.auth, pk=deal_id, write=True)
    quote = if_match_write(
        request,
        deal,
        lambda deal: quotes.quote_create(
            actor=request.auth, deal=deal, language=payload.language, note=payload.note
        ),
        response,
    )
    return Status(201, quote)


def _deal_discount(deal) -> dict:
    check = quotes.deal_discount_check(deal)
    return {
        "deal_id": deal.pk,
        "state": check.state,
        "over": check.over,
        "limit": check.limit,
        "approved": check.approved,
        "pending_approval_id": check.pending.pk if check.pending else None,
    }


@router.get(
    "/pricing/deals/{deal_id}/discount",
    response={200: PricingDealDiscountOut, **PROBLEM_RESPONSES},
    summary="Whether the discounts on the deal's own lines need a manager's approval",
    operation_id="pricing_deal_discount",
)
def deal_discount(request: HttpRequest, deal_id: ObjectId):
    deal = deal_get_for_user(user=request.auth, pk=deal_id, details=False)
    return _deal_discount(deal)


@router.post(
    "/pricing/deals/{deal_id}/approval-requests",
    response={201: PricingApprovalOut, **PROBLEM_RESPONSES},
    summary="Ask a manager to approve the discounts on the deal's own lines",
    operation_id="pricing_deal_approval_request",
)
def deal_approval_request(
    request: HttpRequest,
    deal_id: ObjectId,
    payload: PricingDealApprovalRequest,
    response: HttpResponse,
):
    deal = deal_get_for_user(user=request.auth, pk=deal_id, write=True)
    approval = if_match_write(
        request,
        deal,
        lambda deal: quotes.deal_approval_request(
            actor=request.auth, deal=deal, reason=payload.reason
        ),
        response,
    )
    return Status(201, approval)


@router.get(
    "/pricing/quotes",
    response=list[PricingQuoteOut],
    summary="Quotes of the deals you see",
    operation_id="pricing_quote_list",
)
@paginate(Pagination)
def quote_list(request: HttpRequest, state: QuoteStateName | None = None):
    qs = quote_queries.quote_list_for_user(user=request.auth).order_by("-created_at", "-pk")
    return qs.filter(state=state) if state else qs


@router.get(
    "/pricing/quotes/{quote_id}",
    response={200: PricingQuoteOut, **PROBLEM_RESPONSES},
    summary="A quote version with its lines",
    operation_id="pricing_quote_detail",
)
def quote_detail(request: HttpRequest, quote_id: ObjectId, response: HttpResponse):
    return with_etag(response, _quote(request, quote_id))


@router.get(
    "/pricing/quotes/{quote_id}/pdf",
    response={200: None, **PROBLEM_RESPONSES},
    summary="The quote as PDF, in the customer's language",
    operation_id="pricing_quote_pdf",
)
def quote_pdf(request: HttpRequest, quote_id: ObjectId):
    quote = _quote(request, quote_id)
    pdf = HttpResponse(quotes.quote_pdf(quote), content_type="application/pdf")
    pdf["Content-Disposition"] = f'attachment; filename="quote-{quote.label}.pdf"'
    return pdf


@router.post(
    "/pricing/quotes/{quote_id}/revise",
    response={201: PricingQuoteOut, **PROBLEM_RESPONSES},
    summary="A new version with changed line discounts (the old one is superseded)",
    operation_id="pricing_quote_revise",
)
def quote_revise(
    request: HttpRequest, quote_id: ObjectId, payload: PricingQuoteRevise, response: HttpResponse
):
    new = if_match_write(
        request,
        _quote(request, quote_id, write=True),
        lambda quote: quotes.quote_revise(
            actor=request.auth,
            quote=quote,
            discounts={d.line_id: d.percent for d in payload.discounts},
            note=payload.note,
        ),
        response,
    )
    return Status(201, new)


@router.post(
    "/pricing/quotes/{quote_id}/submit",
    response={200: PricingQuoteOut, **PROBLEM_RESPONSES},
    summary="Make a draft ready, or request approval for a discount above your limit",
    operation_id="pricing_quote_submit",
)
def quote_submit(
    request: HttpRequest, quote_id: ObjectId, payload: PricingQuoteSubmit, response: HttpResponse
):
    return _quote_write(
        request,
        quote_id,
        lambda quote: quotes.quote_submit(actor=request.auth, quote=quote, reason=payload.reason),
        response,
    )


@router.post(
    "/pricing/quotes/{quote_id}/send",
    response={200: PricingQuoteOut, **PROBLEM_RESPONSES},
    summary="Send the ready quote as PDF with an acceptance link",
    operation_id="pricing_quote_send",
)
def quote_send(
    request: HttpRequest, quote_id: ObjectId, payload: PricingQuoteSend, response: HttpResponse
):
    return _quote_write(
        request,
        quote_id,
        lambda quote: quotes.quote_send(
            actor=request.auth,
            quote=quote,
            email=payload.email,
            base_url=request.build_absolute_uri("/"),
        ),
        response,
    )


@router.post(
    "/pricing/quotes/{quote_id}/accept",
    response={200: PricingQuoteOut, **PROBLEM_RESPONSES},
    summary="Record the customer's acceptance: the order is made, the deal won",
    operation_id="pricing_quote_accept",
)
def quote_accept(request: HttpRequest, quote_id: ObjectId, response: HttpResponse):
    return _quote_write(
        request,
        quote_id,
        lambda quote: quotes.quote_accept(actor=request.auth, quote=quote, via="rep"),
        response,
    )


@router.post(
    "/pricing/quotes/{quote_id}/reject",
    response={200: PricingQuoteOut, **PROBLEM_RESPONSES},
    summary="Record that the customer declined",
    operation_id="pricing_quote_reject",
)
def quote_reject(
    request: HttpRequest, quote_id: ObjectId, payload: PricingQuoteReject, response: HttpResponse
):
    return _quote_write(
        request,
        quote_id,
        lambda quote: quotes.quote_reject(
            actor=request.auth, quote=quote, via="rep", note=payload.note
        ),
        response,
    )


# --- Approvals -------------------------------------------------------------------------------


@router.get(
    "/pricing/approvals",
    response=list[PricingApprovalOut],
    summary="Discount approval requests (managers: all; reps: their own)",
    operation_id="pricing_approval_list",
)
@paginate(Pagination)
def approval_list(request: HttpRequest, pending: bool = False):
    return quote_queries.approval_list_for_user(user=request.auth, pending_only=pending)


@router.post(
    "/pricing/approvals/{approval_id}/decide",
    response={200: PricingApprovalOut, **PROBLEM_RESPONSES},
    summary="Approve or reject a discount request with a note (sales managers)",
    operation_id="pricing_approval_decide",
)
def approval_decide(
    request: HttpRequest,
    approval_id: ObjectId,
    payload: PricingApprovalDecide,
    response: HttpResponse,
):
    approval = quote_queries.approval_get_for_user(user=request.auth, pk=approval_id, write=True)
    return if_match_write(
        request,
        approval,
        lambda approval: quotes.approval_decide(
            actor=request.auth, approval=approval, approve=payload.approve, note=payload.note
        ),
        response,
    )
