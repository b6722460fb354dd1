"""API routes for products and transactions (with lines), including bulk creation."""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from kreis.commerce import bulk, queries, services
from kreis.commerce.models import Transaction, TransactionKind
from kreis.core.api_support import (
    PROBLEM_RESPONSES,
    IdValue,
    Input,
    ObjectId,
    Pagination,
    SearchText,
    check_if_match,
    etag,
)
from kreis.core.signals import announce_bulk_created

router = Router(tags=["commerce"])

MAX_BULK = 1000
Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
Quantity = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=3)]
Currency = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")]
Kind = Literal[tuple(TransactionKind.values)]  # type: ignore[valid-type]
TransactionSort = Literal["date", "-date", "revenue", "-revenue", "margin", "-margin"]
ProductSort = Literal["name", "-name", "sku", "price", "-price"]


def _bulk_errors(exc: services.BulkError) -> ValidationError:
    """Row errors as ``items.<row>.<field>``: the API's handler answers 422 with ``row``."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        errors.setdefault(f"items.{error['row']}.{error['field']}", []).append(error["message"])
    return ValidationError(errors)


# --- products -------------------------------------------------------------------------------


class ProductOut(Schema):
    id: int
    sku: str
    name: str
    unit: str
    list_price: Decimal
    unit_cost: Decimal
    currency: str
    category: str
    description: str
    is_active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class ProductCreate(Input):
    sku: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    unit: str = Field("pc", min_length=1, max_length=20)
    list_price: Money
    unit_cost: Money = Decimal("0")
    currency: Currency | None = None
    category: str = Field("", max_length=100)
    description: str = Field("", max_length=20000)
    is_active: bool = True


class ProductUpdate(Input):
    sku: str | None = Field(None, min_length=1, max_length=40)
    name: str | None = Field(None, min_length=1, max_length=200)
    unit: str | None = Field(None, min_length=1, max_length=20)
    list_price: Money | None = None
    unit_cost: Money | None = None
    currency: Currency | None = None
    category: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=20000)
    is_active: bool | None = None


class ProductBulk(Input):
    items: list[ProductCreate] = Field(min_length=1, max_length=MAX_BULK)


class BulkOut(Schema):
    created: int
    ids: list[int]


def _no_nulls(data: dict) -> dict:
    return {k: v for k, v in data.items() if v is not None}


@router.get("/products", response=list[ProductOut], summary="List products")
@paginate(Pagination)
def product_list(
    request: HttpRequest,
    q: SearchText = "",
    category: SearchText = "",
    active: bool | None = None,
    sort: ProductSort = "name",
):
    return queries.product_list_for_user(
        user=request.auth, search=q, category=category, active=active, sort=sort
    )


@router.post(
    "/products",
    response={201: ProductOut, **PROBLEM_RESPONSES},
    summary="Create a product (administrators and sales managers)",
)
def product_create(request: HttpRequest, payload: ProductCreate):
    data = _no_nulls(payload.model_dump())
    return Status(201, services.product_create(actor=request.auth, **data))


@router.post(
    "/products/bulk",
    response={201: BulkOut, **PROBLEM_RESPONSES},
    summary="Create up to 1,000 products, all or none (errors name the row)",
)
def product_bulk_create(request: HttpRequest, payload: ProductBulk):
    rows = [_no_nulls(item.model_dump(exclude_unset=True)) for item in payload.items]
    try:
        products = services.products_bulk_create(actor=request.auth, rows=rows)
    except services.BulkError as exc:
        raise _bulk_errors(exc) from None
    return Status(201, {"created": len(products), "ids": [p.pk for p in products]})


@router.get(
    "/products/{product_id}", response={200: ProductOut, **PROBLEM_RESPONSES}, summary="A product"
)
def product_detail(request: HttpRequest, product_id: ObjectId, response: HttpResponse):
    product = queries.product_get_for_user(user=request.auth, pk=product_id)
    response["ETag"] = etag(product)
    return product


@router.patch(
    "/products/{product_id}",
    response={200: ProductOut, **PROBLEM_RESPONSES},
    summary="Change a product (administrators and sales managers)",
)
def product_update(
    request: HttpRequest, product_id: ObjectId, payload: ProductUpdate, response: HttpResponse
):
    product = queries.product_get_for_user(user=request.auth, pk=product_id, write=True)
    check_if_match(request, product)
    product = services.product_update(
        actor=request.auth, product=product, **_no_nulls(payload.model_dump(exclude_unset=True))
    )
    response["ETag"] = etag(product)
    return product


@router.delete(
    "/products/{product_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Deactivate a product (it stays on past transactions)",
)
def product_delete(request: HttpRequest, product_id: ObjectId):
    product = queries.product_get_for_user(user=request.auth, pk=product_id, write=True)
    check_if_match(request, product)
    services.product_deactivate(actor=request.auth, product=product)
    return Status(204, None)


# --- transactions ---------------------------------------------------------------------------


class LineIn(Input):
    product_id: IdValue | None = None
    sku: str | None = Field(None, min_length=1, max_length=40)
    description: str = Field("", max_length=200)
    quantity: Quantity
    unit_price: Money | None = Field(None, description="Default: the product's list price.")
    discount: Money = Field(Decimal("0"), description="Absolute discount on the line.")


class LineOut(Schema):
    id: int
    product_id: int | None
    sku: str | None
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal
    net_revenue: Decimal
    cost: Decimal

    @staticmethod
    def resolve_sku(obj) -> str | None:
        return obj.product.sku if obj.product_id else None


class TransactionOut(Schema):
    id: int
    kind: str
    number: str
    party_id: int
    date: dt.date
    currency: str
    channel: str
    note: str
    net_revenue: Decimal = Field(description="Sum of the lines; positive also for returns.")
    cost: Decimal
    margin: Decimal = Field(description="Net revenue − cost (contribution margin I).")
    sign: int = Field(description="-1 for returns, else 1: multiply to get signed amounts.")
    owner_id: int | None
    team_id: int | None
    external_id: str | None
    lines: list[LineOut]
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_lines(obj) -> list:
        return list(obj.lines.all())


class TransactionWrite(Input):
    number: str | None = Field(None, max_length=40)
    currency: Currency | None = None
    channel: str | None = Field(None, max_length=40)
    note: str | None = Field(None, max_length=500)
    external_id: str | None = Field(None, max_length=100)
    owner_id: IdValue | None = None
    team_id: IdValue | None = None


class TransactionCreate(TransactionWrite):
    kind: Kind
    party_id: IdValue | None = None
    party_external_id: str | None = Field(None, min_length=1, max_length=100)
    date: dt.date
    lines: list[LineIn] = Field(min_length=1, max_length=services.MAX_LINES)


class TransactionUpdate(TransactionWrite):
    kind: Kind | None = None
    party_id: IdValue | None = None
    party_external_id: str | None = Field(None, min_length=1, max_length=100)
    date: dt.date | None = None
    lines: list[LineIn] | None = Field(
        None, min_length=1, max_length=services.MAX_LINES, description="Replaces all lines."
    )


class TransactionBulk(Input):
    items: list[TransactionCreate] = Field(min_length=1, max_length=MAX_BULK)


def _transaction_args(request: HttpRequest, payload: Input, *, partial: bool = False) -> dict:
    data = payload.model_dump(exclude_unset=True)
    # null means "not given" for everything but owner and team (null there clears them).
    data = {k: v for k, v in data.items() if v is not None or k in {"owner_id", "team_id"}}
    if "lines" in data:
        data["lines"] = [_no_nulls(line) for line in data["lines"]]
    return services.transaction_references(actor=request.auth, data=data, partial=partial)


def _reload(request: HttpRequest, txn: Transaction) -> Transaction:
    return queries.transaction_get_for_user(user=request.auth, pk=txn.pk)


@router.get("/transactions", response=list[TransactionOut], summary="List transactions")
@paginate(Pagination)
def transaction_list(
    request: HttpRequest,
    kind: Kind | None = None,
    party_id: IdValue | None = None,
    product_id: IdValue | None = None,
    category: SearchText = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    owner_id: IdValue | None = None,
    team_id: IdValue | None = None,
    q: SearchText = "",
    sort: TransactionSort = "-date",
):
    return queries.transaction_list_for_user(
        user=request.auth,
        kind=kind or "",
        party_id=party_id,
        product_id=product_id,
        category=category,
        date_from=date_from,
        date_to=date_to,
        owner_id=owner_id,
        team_id=team_id,
        search=q,
        sort=sort,
    ).prefetch_related("lines__product")


@router.post(
    "/transactions",
    response={201: TransactionOut, **PROBLEM_RESPONSES},
    summary="Record a transaction with its lines",
    description="Name the party by `party_id` or `party_external_id`, products by `product_id` "
    "or `sku`. Net revenue and cost are computed: quantity × unit price − discount, and "
    "quantity × the product's unit cost on the transaction's date.",
)
def transaction_create(request: HttpRequest, payload: TransactionCreate):
    txn = services.transaction_create(actor=request.auth, **_transaction_args(request, payload))
    return Status(201, _reload(request, txn))


@router.post(
    "/transactions/bulk",
    response={201: BulkOut, **PROBLEM_RESPONSES},
    summary="Record up to 1,000 transactions, all or none (errors name the row)",
    description="Each item as for `POST /transactions`: parties by `party_id` or "
    "`party_external_id`, products by `product_id` or `sku`.",
)
def transaction_bulk_create(request: HttpRequest, payload: TransactionBulk):
    rows = []
    for item in payload.items:
        row = _no_nulls(item.model_dump(exclude_unset=True))
        rows.append(row | {"lines": [_no_nulls(line) for line in row["lines"]]})
    try:
        created = bulk.transactions_bulk_create(actor=request.auth, rows=rows)
    except services.BulkError as exc:
        raise _bulk_errors(exc) from None
    ids = [txn.pk for txn in created]
    # The fast path sends no post_save: webhooks hear of each new transaction through this.
    announce_bulk_created(model=Transaction, ids=ids, actor=request.auth)
    return Status(201, {"created": len(created), "ids": ids})


@router.get(
    "/transactions/{transaction_id}",
    response={200: TransactionOut, **PROBLEM_RESPONSES},
    summary="A transaction with its lines",
)
def transaction_detail(request: HttpRequest, transaction_id: ObjectId, response: HttpResponse):
    txn = queries.transaction_get_for_user(user=request.auth, pk=transaction_id)
    response["ETag"] = etag(txn)
    return txn


@router.patch(
    "/transactions/{transaction_id}",
    response={200: TransactionOut, **PROBLEM_RESPONSES},
    summary="Change a transaction (lines given replace the old ones)",
)
def transaction_update(
    request: HttpRequest,
    transaction_id: ObjectId,
    payload: TransactionUpdate,
    response: HttpResponse,
):
    txn = queries.transaction_get_for_user(user=request.auth, pk=transaction_id, write=True)
    check_if_match(request, txn)
    services.transaction_update(
        actor=request.auth, transaction=txn, **_transaction_args(request, payload, partial=True)
    )
    txn = _reload(request, txn)
    response["ETag"] = etag(txn)
    return txn


@router.delete(
    "/transactions/{transaction_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a transaction (soft; restorable)",
)
def transaction_delete(request: HttpRequest, transaction_id: ObjectId):
    txn = queries.transaction_get_for_user(user=request.auth, pk=transaction_id, write=True)
    check_if_match(request, txn)
    services.transaction_delete(actor=request.auth, transaction=txn)
    return Status(204, None)
