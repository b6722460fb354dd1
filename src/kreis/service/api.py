"""API routes for complaint cases: list, get, create, transitions, messages, assignment.

Who sees what is the rule of ``kreis.service.rules``: administrators and sales managers see
every case; a service agent the cases they own and those of their teams; anyone the cases of
the customers they may see themselves (read only). Whoever sees a case sees its customer's
name (``party_name``): a complaint is not handled without knowing who complains. Handling a
case needs ownership or its team (or seeing all); read-only users handle nothing. A case
someone may not see is 404. The messages of a case include internal notes: this API is for
staff, never for customers.
"""

import datetime as dt
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from kreis.commerce.models import Product
from kreis.core.api_support import (
    PROBLEM_RESPONSES,
    IdValue,
    Input,
    ObjectId,
    SearchText,
)
from kreis.core.queries import team_get_for_user, user_get_for_user
from kreis.parties.queries import party_get_for_user
from kreis.service import queries, services
from kreis.service.improvement.api import router as improvement_router
from kreis.service.models import (
    CUSTOMER_VISIBLE,
    CaseCategory,
    CaseMessage,
    CaseStatus,
    Channel,
    RootCause,
    Severity,
)
from kreis.service.paging import IdsFirstPagination
from kreis.service.processing.api import router as processing_router

router = Router(tags=["cases"])

StatusName = Literal[tuple(CaseStatus.values)]  # type: ignore[valid-type]
SeverityName = Literal[tuple(Severity.values)]  # type: ignore[valid-type]
ChannelName = Literal[tuple(Channel.values)]  # type: ignore[valid-type]
Sort = Literal[tuple(queries.SORTS)]  # type: ignore[valid-type]


class CaseOut(Schema):
    id: int
    number: str
    party_id: int
    party_name: str
    contact_id: int | None
    channel: str
    category_id: int
    product_id: int | None
    region: str
    severity: str
    subject: str
    description: str
    language: str
    status: str
    waiting_for_customer: bool
    paused_seconds: int
    owner_id: int | None
    team_id: int | None
    root_cause_id: int | None
    ack_due_at: dt.datetime | None
    resolve_due_at: dt.datetime | None
    acknowledged_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    overdue: bool
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_party_name(obj) -> str:
        # Whoever may see a case sees who complains (see kreis.service.rules).
        return obj.party.name

    @staticmethod
    def resolve_overdue(obj) -> bool:
        return obj.is_overdue()


class CaseCreate(Input):
    category_id: IdValue
    subject: str = Field(min_length=1, max_length=200)
    channel: ChannelName = "api"
    party_id: IdValue | None = None
    sender_name: str = Field("", max_length=200)
    sender_email: str = Field("", max_length=254)
    sender_phone: str = Field("", max_length=40)
    create_new_party: bool = False
    contact_id: IdValue | None = None
    description: str = Field("", max_length=20000)
    severity: SeverityName = "medium"
    product_id: IdValue | None = None
    region: str = Field("", max_length=100)
    language: Literal["de", "en", ""] = ""


class TransitionIn(Input):
    to_status: StatusName
    note: str = Field("", max_length=500)
    root_cause_id: IdValue | None = None


class WaitingIn(Input):
    waiting: bool


class MessageIn(Input):
    body: str = Field(min_length=1, max_length=20000)


class MessageOut(Schema):
    id: int
    kind: str
    author_id: int | None
    body: str
    created_at: dt.datetime


class TransitionOut(Schema):
    id: int
    event: str
    actor_id: int | None
    from_status: str
    to_status: str
    note: str
    created_at: dt.datetime


class AssignIn(Input):
    owner_id: IdValue
    team_id: IdValue | None = None


class Named(Schema):
    id: int
    name_de: str
    name_en: str


class CategoryOut(Named):
    kind: str


def _found(model, pk: int | None, field: str):
    from django.core.exceptions import ValidationError

    if pk is None:
        return None
    obj = model.objects.filter(pk=pk).first()
    if obj is None:
        raise ValidationError({field: "Not found."})
    return obj


@router.get("/cases", response=list[CaseOut], summary="List cases", operation_id="case_list")
@paginate(IdsFirstPagination)
def case_list(
    request: HttpRequest,
    q: SearchText = "",
    status: StatusName | None = None,
    severity: SeverityName | None = None,
    owner_id: IdValue | None = None,
    category_id: IdValue | None = None,
    party_id: IdValue | None = None,
    overdue: bool = False,
    open: bool = False,  # noqa: A002  (the query parameter's name)
    waiting_for_supplier: bool = False,
    sort: Sort = "-created",
):
    return queries.case_list_for_user(
        user=request.auth,
        search=q,
        status=status or "",
        severity=severity or "",
        owner_id=owner_id,
        category_id=category_id,
        party_id=party_id,
        overdue=overdue,
        open_only=open,
        waiting_for_supplier=waiting_for_supplier,
        sort=sort,
    )


@router.post(
    "/cases",
    response={201: CaseOut, **PROBLEM_RESPONSES},
    summary="Create a case (owner, number and SLA due dates are given at once)",
    operation_id="case_create",
)
def case_create(request: HttpRequest, payload: CaseCreate):
    user = request.auth
    data = payload.model_dump()
    party_id, contact_id = data.pop("party_id"), data.pop("contact_id")
    case = services.case_create(
        actor=user,
        party=party_get_for_user(user=user, pk=party_id, related=False) if party_id else None,
        contact=party_get_for_user(user=user, pk=contact_id, related=False) if contact_id else None,
        category=_found(CaseCategory, data.pop("category_id"), "category_id"),
        product=_found(Product, data.pop("product_id"), "product_id"),
        **data,
    )
    return Status(201, case)


@router.get(
    "/cases/categories",
    response=list[CategoryOut],
    summary="The case categories",
    operation_id="case_category_list",
)
def case_category_list(request: HttpRequest):
    return list(queries.categories())


@router.get(
    "/cases/root-causes",
    response=list[Named],
    summary="The root causes",
    operation_id="case_root_cause_list",
)
def case_root_cause_list(request: HttpRequest):
    return list(queries.root_causes())


@router.get(
    "/cases/{case_id}",
    response={200: CaseOut, **PROBLEM_RESPONSES},
    summary="A case",
    operation_id="case_detail",
)
def case_detail(request: HttpRequest, case_id: ObjectId):
    return queries.case_get_for_user(user=request.auth, pk=case_id)


@router.post(
    "/cases/{case_id}/transition",
    response={200: CaseOut, **PROBLEM_RESPONSES},
    summary="Move a case along its flow (resolving needs the root cause; reopening a note)",
    operation_id="case_transition",
)
def case_transition(request: HttpRequest, case_id: ObjectId, payload: TransitionIn):
    case = queries.case_get_for_user(user=request.auth, pk=case_id, write=True)
    return services.case_transition(
        actor=request.auth,
        case=case,
        to_status=payload.to_status,
        note=payload.note,
        root_cause=_found(RootCause, payload.root_cause_id, "root_cause_id"),
        base_url=request.build_absolute_uri("/"),
    )


@router.post(
    "/cases/{case_id}/waiting",
    response={200: CaseOut, **PROBLEM_RESPONSES},
    summary="Wait for the customer (the SLA clock stops) or stop waiting",
    operation_id="case_set_waiting",
)
def case_set_waiting(request: HttpRequest, case_id: ObjectId, payload: WaitingIn):
    case = queries.case_get_for_user(user=request.auth, pk=case_id, write=True)
    return services.case_set_waiting(actor=request.auth, case=case, waiting=payload.waiting)


@router.get(
    "/cases/{case_id}/transitions",
    response={200: list[TransitionOut], **PROBLEM_RESPONSES},
    summary="Every status change of a case: who, when, from, to",
    operation_id="case_transition_list",
)
def case_transition_list(request: HttpRequest, case_id: ObjectId):
    case = queries.case_get_for_user(user=request.auth, pk=case_id)
    return list(case.transitions.all())


@router.get(
    "/cases/{case_id}/messages",
    response={200: list[MessageOut], **PROBLEM_RESPONSES},
    summary="Notes and messages of a case (customer_visible: without internal notes)",
    operation_id="case_message_list",
)
def case_message_list(request: HttpRequest, case_id: ObjectId, customer_visible: bool = False):
    case = queries.case_get_for_user(user=request.auth, pk=case_id)
    messages = CaseMessage.objects.filter(case=case)
    if customer_visible:
        messages = messages.filter(kind__in=CUSTOMER_VISIBLE)
    return list(messages)


class RatingOut(Schema):
    id: int
    rating: int = Field(description="1 (very poor) to 5 (very good)")
    comment: str
    created_at: dt.datetime


@router.get(
    "/cases/{case_id}/ratings",
    response={200: list[RatingOut], **PROBLEM_RESPONSES},
    summary="The customer's ratings of a case's resolution, newest first",
    operation_id="case_rating_list",
)
def case_rating_list(request: HttpRequest, case_id: ObjectId):
    case = queries.case_get_for_user(user=request.auth, pk=case_id)
    return list(case.ratings.all())


def _message_route(path: str, operation_id: str, summary: str, service):
    @router.post(
        path,
        response={201: MessageOut, **PROBLEM_RESPONSES},
        summary=summary,
        operation_id=operation_id,
    )
    def route(request: HttpRequest, case_id: ObjectId, payload: MessageIn):
        case = queries.case_get_for_user(user=request.auth, pk=case_id, write=True)
        return Status(201, service(actor=request.auth, case=case, body=payload.body))

    route.__name__ = operation_id
    return route


_message_route(
    "/cases/{case_id}/notes",
    "case_add_note",
    "Add an internal note (staff only, never shown to the customer)",
    services.case_add_note,
)
_message_route(
    "/cases/{case_id}/replies",
    "case_reply",
    "Reply to the customer (e-mailed when they have an address)",
    services.case_reply,
)
_message_route(
    "/cases/{case_id}/customer-messages",
    "case_add_customer_message",
    "Record what the customer said (a case waiting for them runs on)",
    services.case_add_customer_message,
)


@router.post(
    "/cases/{case_id}/assign",
    response={200: CaseOut, **PROBLEM_RESPONSES},
    summary="Give a case to another owner (and team)",
    operation_id="case_assign",
)
def case_assign(request: HttpRequest, case_id: ObjectId, payload: AssignIn):
    user = request.auth
    case = queries.case_get_for_user(user=user, pk=case_id, write=True)
    return services.case_assign(
        actor=user,
        case=case,
        owner=user_get_for_user(user=user, pk=payload.owner_id),
        team=team_get_for_user(user=user, pk=payload.team_id) if payload.team_id else None,
    )


# Processing (tasks, supplier requests, costs) and information usage (improvement actions).
router.add_router("", processing_router)
router.add_router("", improvement_router)
