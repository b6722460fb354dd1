"""API routes of mailings: list, create, read, change, delete a draft; start, pause, resume,
cancel; the test on a sample; the results (counts, recipients); the suppression list."""

import datetime as dt
from typing import Annotated, Literal

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from kreis.core.api_support import (
    PROBLEM_RESPONSES,
    IdValue,
    Input,
    ObjectId,
    Pagination,
    SearchText,
    check_if_match,
    etag,
    if_match_write,
    with_etag,
)
from kreis.mailings import queries, results, services
from kreis.mailings.models import PURPOSES, RecipientState, SkipReason, SuppressionSource
from kreis.marketing.campaigns.queries import campaign_get_for_user
from kreis.marketing.segments.queries import segment_get_for_user

router = Router(tags=["mailings"])

PurposeName = Literal[tuple(value for value, _label in PURPOSES)]  # type: ignore[valid-type]
StateName = Literal[tuple(RecipientState.values)]  # type: ignore[valid-type]
ReasonName = Literal[tuple(SkipReason.values)]  # type: ignore[valid-type]
Name = Annotated[str, Field(min_length=1, max_length=120)]


class MailingOut(Schema):
    id: int
    name: str
    segment_id: int
    campaign_id: int | None
    purpose: str
    template_name: str
    subject: str
    body: str
    rate: int | None
    state: str
    owner_id: int | None
    team_id: int | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class MailingWrite(Input):
    campaign_id: IdValue | None = None
    purpose: PurposeName | None = None
    template_name: str | None = Field(None, max_length=120)
    subject: str | None = Field(None, max_length=255)
    body: str | None = Field(None, max_length=100_000)
    rate: int | None = Field(None, ge=1, le=services.MAX_RATE)


class MailingCreateIn(MailingWrite):
    name: Name
    segment_id: IdValue


class MailingUpdateIn(MailingWrite):
    name: Name | None = None
    segment_id: IdValue | None = None


class CountsOut(Schema):
    total: int
    queued: int
    sending: int
    sent: int
    delivered: int
    skipped: int
    failed: int
    uncertain: int
    cancelled: int
    bounced: int
    hard_bounced: int
    replied: int
    unsubscribed: int
    progress: int
    skipped_by_reason: dict[str, int]


class RecipientOut(Schema):
    id: int
    party_id: int
    email: str
    language: str
    state: str
    skip_reason: str
    error: str
    sent_at: dt.datetime | None
    message_id: str
    bounced_at: dt.datetime | None
    hard_bounce: bool
    replied_at: dt.datetime | None
    unsubscribed_at: dt.datetime | None


class SampleIn(Input):
    to: list[Annotated[str, Field(max_length=254)]] = Field(..., min_length=1, max_length=10)
    count: int = Field(1, ge=1, le=10)


class SampleOut(Schema):
    to: list[str]
    sample_of: list[str]
    sent: int


class SuppressionOut(Schema):
    id: int
    value: str
    is_domain: bool
    reason: str
    source: str
    added_by_id: int | None
    created_at: dt.datetime


class SuppressionIn(Input):
    value: Annotated[str, Field(min_length=3, max_length=254)]
    reason: str = Field("", max_length=300)


def _fields(request: HttpRequest, payload: Input) -> dict:
    data = payload.model_dump(exclude_unset=True)
    fields = {k: v for k, v in data.items() if k not in ("segment_id", "campaign_id")}
    if data.get("segment_id") is not None:
        fields["segment"] = segment_get_for_user(user=request.auth, pk=data["segment_id"])
    if "campaign_id" in data:
        fields["campaign"] = (
            campaign_get_for_user(user=request.auth, pk=data["campaign_id"])
            if data["campaign_id"]
            else None
        )
    for text in ("template_name", "subject", "body"):
        if text in fields and fields[text] is None:
            fields[text] = ""
    return fields


# The suppression list first: /mailings/{mailing_id} must not take /mailings/suppressions.


@router.get(
    "/mailings/suppressions",
    response=list[SuppressionOut],
    summary="The suppression list",
    operation_id="mailings_suppression_list",
)
@paginate(Pagination)
def suppression_list(request: HttpRequest, q: SearchText = ""):
    if not request.auth.has_perm("mailings.view"):
        raise PermissionDenied
    return queries.suppression_list_for_user(user=request.auth, search=q)


@router.post(
    "/mailings/suppressions",
    response={201: SuppressionOut, **PROBLEM_RESPONSES},
    summary="Put an address or a domain on the suppression list",
    operation_id="mailings_suppression_add",
)
def suppression_add(request: HttpRequest, payload: SuppressionIn):
    entry = services.suppression_add(
        actor=request.auth,
        value=payload.value,
        reason=payload.reason,
        source=SuppressionSource.API,
    )
    return Status(201, entry)


@router.delete(
    "/mailings/suppressions/{suppression_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Take an entry off the suppression list",
    operation_id="mailings_suppression_delete",
)
def suppression_delete(request: HttpRequest, suppression_id: ObjectId):
    entry = queries.suppression_get_for_user(user=request.auth, pk=suppression_id)
    services.suppression_remove(actor=request.auth, entry=entry)
    return Status(204, None)


@router.get(
    "/mailings",
    response=list[MailingOut],
    summary="List the mailings you may see",
    operation_id="mailings_list",
)
@paginate(Pagination)
def mailing_list(request: HttpRequest):
    return queries.mailing_list_for_user(user=request.auth)


@router.post(
    "/mailings",
    response={201: MailingOut, **PROBLEM_RESPONSES},
    summary="Create a draft mailing to a segment",
    operation_id="mailings_create",
)
def mailing_create(request: HttpRequest, payload: MailingCreateIn, response: HttpResponse):
    if not request.auth.has_perm("mailings.add"):
        raise PermissionDenied
    mailing = services.mailing_create(actor=request.auth, **_fields(request, payload))
    response["ETag"] = etag(mailing)
    return Status(201, mailing)


@router.get(
    "/mailings/{mailing_id}",
    response={200: MailingOut, **PROBLEM_RESPONSES},
    summary="A mailing",
    operation_id="mailings_detail",
)
def mailing_detail(request: HttpRequest, mailing_id: ObjectId, response: HttpResponse):
    return with_etag(response, queries.mailing_get_for_user(user=request.auth, pk=mailing_id))


@router.patch(
    "/mailings/{mailing_id}",
    response={200: MailingOut, **PROBLEM_RESPONSES},
    summary="Change a draft (a started mailing: its name and rate only)",
    operation_id="mailings_update",
)
def mailing_update(
    request: HttpRequest, mailing_id: ObjectId, payload: MailingUpdateIn, response: HttpResponse
):
    mailing = queries.mailing_get_for_user(user=request.auth, pk=mailing_id, write=True)
    fields = _fields(request, payload)
    return if_match_write(
        request,
        mailing,
        lambda m: services.mailing_update(actor=request.auth, mailing=m, **fields),
        response,
    )


@router.delete(
    "/mailings/{mailing_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a draft",
    operation_id="mailings_delete",
)
def mailing_delete(request: HttpRequest, mailing_id: ObjectId):
    if_match_write(
        request,
        queries.mailing_get_for_user(user=request.auth, pk=mailing_id, write=True),
        lambda m: services.mailing_delete(actor=request.auth, mailing=m),
    )
    return Status(204, None)


def _transition(request, mailing_id: int, response: HttpResponse, change):
    mailing = queries.mailing_get_for_user(user=request.auth, pk=mailing_id, write=True)
    return if_match_write(request, mailing, change, response)


@router.post(
    "/mailings/{mailing_id}/start",
    response={200: MailingOut, **PROBLEM_RESPONSES},
    summary="Start sending (recipients are taken from the segment now)",
    operation_id="mailings_start",
)
def mailing_start(request: HttpRequest, mailing_id: ObjectId, response: HttpResponse):
    def start(mailing):
        services.mailing_start(
            actor=request.auth, mailing=mailing, base_url=request.build_absolute_uri("/")
        )
        return mailing

    return _transition(request, mailing_id, response, start)


@router.post(
    "/mailings/{mailing_id}/pause",
    response={200: MailingOut, **PROBLEM_RESPONSES},
    summary="Pause sending",
    operation_id="mailings_pause",
)
def mailing_pause(request: HttpRequest, mailing_id: ObjectId, response: HttpResponse):
    return _transition(
        request,
        mailing_id,
        response,
        lambda m: services.mailing_pause(actor=request.auth, mailing=m),
    )


@router.post(
    "/mailings/{mailing_id}/resume",
    response={200: MailingOut, **PROBLEM_RESPONSES},
    summary="Resume a paused mailing",
    operation_id="mailings_resume",
)
def mailing_resume(request: HttpRequest, mailing_id: ObjectId, response: HttpResponse):
    return _transition(
        request,
        mailing_id,
        response,
        lambda m: services.mailing_resume(actor=request.auth, mailing=m),
    )


@router.post(
    "/mailings/{mailing_id}/cancel",
    response={200: MailingOut, **PROBLEM_RESPONSES},
    summary="Cancel: the recipients not yet sent to get nothing",
    operation_id="mailings_cancel",
)
def mailing_cancel(request: HttpRequest, mailing_id: ObjectId, response: HttpResponse):
    return _transition(
        request,
        mailing_id,
        response,
        lambda m: services.mailing_cancel(actor=request.auth, mailing=m),
    )


@router.post(
    "/mailings/{mailing_id}/sample",
    response={200: SampleOut, **PROBLEM_RESPONSES},
    summary="Test on a sample: the mail as random recipients get it, to your addresses",
    operation_id="mailings_sample",
)
def mailing_sample(request: HttpRequest, mailing_id: ObjectId, payload: SampleIn):
    mailing = queries.mailing_get_for_user(user=request.auth, pk=mailing_id, write=True)
    check_if_match(request, mailing)
    return services.sample_send(
        actor=request.auth, mailing=mailing, to=payload.to, count=payload.count
    )


@router.get(
    "/mailings/{mailing_id}/results",
    response={200: CountsOut, **PROBLEM_RESPONSES},
    summary="Counts: queued, sent, delivered, bounced, replied, unsubscribed, skipped …",
    operation_id="mailings_results",
)
def mailing_results(request: HttpRequest, mailing_id: ObjectId):
    mailing = queries.mailing_get_for_user(user=request.auth, pk=mailing_id)
    results.refresh(mailing)
    return results.counts(mailing).as_dict()


@router.get(
    "/mailings/{mailing_id}/recipients",
    response=list[RecipientOut],
    summary="The recipients with what became of each (skips with their reason)",
    operation_id="mailings_recipients",
)
@paginate(Pagination)
def mailing_recipients(
    request: HttpRequest,
    mailing_id: ObjectId,
    state: StateName | None = None,
    reason: ReasonName | None = None,
):
    mailing = queries.mailing_get_for_user(user=request.auth, pk=mailing_id)
    return queries.recipients_of(mailing, state=state or "", reason=reason or "")
