"""API routes for consents: a party's or lead's consent history with its events, recording a
consent (documented, existing customer, or a double opt-in whose confirmation mail goes out),
withdrawing one, and the consent texts with a new version. The confirmation and unsubscribe
links are public pages (/consent/…), not API routes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from kreis.core.api_support import PROBLEM_RESPONSES, Input, ObjectId, check_if_match
from kreis.leads.queries import lead_get_for_user
from kreis.marketing.consent import queries, services
from kreis.marketing.models import (
    Consent,
    ConsentBasis,
    ConsentChannel,
    ConsentPurpose,
    ConsentSource,
    ConsentText,
)
from kreis.parties.queries import party_get_for_user

router = Router(tags=["consents"])

Purpose = Literal[tuple(ConsentPurpose.values)]  # type: ignore[valid-type]
Channel = Literal[tuple(ConsentChannel.values)]  # type: ignore[valid-type]
Language = Literal["de", "en"]
StaffBasis = Literal["documented", "existing_customer", "double_opt_in"]
Note = Annotated[str, Field(max_length=300, pattern=r"^[^\x00]*$")]


class EventOut(Schema):
    kind: str
    at: dt.datetime
    ip_address: str | None
    user_agent: str
    actor_id: int | None
    note: str


class ConsentOut(Schema):
    id: int
    party_id: int | None
    lead_id: int | None
    email: str
    purpose: str
    channel: str
    status: str
    basis: str
    source: str
    language: str
    text_id: int | None
    text_version: int | None = Field(None, description="The version of the text agreed to.")
    text: str | None = Field(None, description="The exact wording agreed to.")
    requested_at: dt.datetime
    ip_address: str | None
    user_agent: str
    confirmed_at: dt.datetime | None
    confirmed_ip: str | None
    withdrawn_at: dt.datetime | None
    recorded_by_id: int | None
    note: str
    events: list[EventOut]

    @staticmethod
    def resolve_text_version(obj) -> int | None:
        return obj.text.version if obj.text_id else None

    @staticmethod
    def resolve_text(obj) -> str | None:
        return obj.text.text if obj.text_id else None

    @staticmethod
    def resolve_events(obj) -> list:
        return list(obj.events.all())


class ConsentIn(Input):
    purpose: Purpose
    channel: Channel = "email"
    basis: StaffBasis = Field(
        description="documented or existing_customer (UWG §7 (3), e-mail only): granted at "
        "once; double_opt_in: pending, the confirmation mail goes out."
    )
    language: Language = "de"
    email: Annotated[str, Field(max_length=254)] = Field(
        "", description="Empty: the record's primary address."
    )
    note: Note = Field("", description="Where the consent is documented.")


class TextOut(Schema):
    id: int
    purpose: str
    language: str
    version: int
    text: str
    created_at: dt.datetime
    created_by_id: int | None


class TextIn(Input):
    purpose: Purpose
    language: Language
    text: Annotated[str, Field(min_length=1, max_length=4000, pattern=r"^[^\x00]*$")]


def _history(**subject):
    return list(queries.history(**subject))


@router.get(
    "/parties/{party_id}/consents",
    response=list[ConsentOut],
    summary="A party's consents with their history",
    operation_id="party_consents",
)
def party_consents(request: HttpRequest, party_id: ObjectId):
    party = party_get_for_user(user=request.auth, pk=party_id, related=False)
    return _history(party=party)


@router.get(
    "/leads/{lead_id}/consents",
    response=list[ConsentOut],
    summary="A lead's consents with their history",
    operation_id="lead_consents",
)
def lead_consents(request: HttpRequest, lead_id: ObjectId):
    lead = lead_get_for_user(user=request.auth, pk=lead_id, related=())
    return _history(lead=lead)


def _record(request: HttpRequest, payload: ConsentIn, **subject) -> Consent:
    if payload.basis == "double_opt_in" and payload.purpose == ConsentPurpose.TRACKING:
        raise ValidationError({"basis": _("Tracking consent is given by the visitor.")})
    consent = services.request_consent(
        purpose=payload.purpose,
        channel=payload.channel,
        email=payload.email,
        language=payload.language,
        source=ConsentSource.API,
        actor=request.auth,
        basis=ConsentBasis(payload.basis),
        base_url=request.build_absolute_uri("/"),
        note=payload.note,
        **subject,
    )
    return queries.with_history(consent.pk)


@router.post(
    "/parties/{party_id}/consents",
    response={201: ConsentOut, **PROBLEM_RESPONSES},
    summary="Record a consent of a party",
    operation_id="party_consent_record",
)
def party_consent_record(request: HttpRequest, party_id: ObjectId, payload: ConsentIn):
    party = party_get_for_user(user=request.auth, pk=party_id, write=True, related=False)
    check_if_match(request, party)
    return Status(201, _record(request, payload, party=party))


@router.post(
    "/leads/{lead_id}/consents",
    response={201: ConsentOut, **PROBLEM_RESPONSES},
    summary="Record a consent of a lead",
    operation_id="lead_consent_record",
)
def lead_consent_record(request: HttpRequest, lead_id: ObjectId, payload: ConsentIn):
    lead = lead_get_for_user(user=request.auth, pk=lead_id, write=True, related=())
    check_if_match(request, lead)
    return Status(201, _record(request, payload, lead=lead))


@router.post(
    "/marketing/consents/{consent_id}/withdraw",
    response={200: ConsentOut, **PROBLEM_RESPONSES},
    summary="Withdraw a consent (at once: the next send asks again)",
    operation_id="consent_withdraw",
)
def consent_withdraw(request: HttpRequest, consent_id: ObjectId):
    consent = get_object_or_404(Consent.objects.select_related("party", "lead"), pk=consent_id)
    if not queries.subject_allows(request.auth, consent, write=False):
        raise Http404
    if not queries.subject_allows(request.auth, consent, write=True):
        raise PermissionDenied
    services.withdraw(consent, actor=request.auth, via=services.Via.API)
    return queries.with_history(consent.pk)


@router.get(
    "/marketing/consent-texts",
    response=list[TextOut],
    summary="All consent texts, every version (newest first per purpose and language)",
    operation_id="consent_text_list",
)
def consent_text_list(request: HttpRequest, purpose: Purpose | None = None):
    if not request.auth.has_perm("marketing.view"):
        raise PermissionDenied
    qs = ConsentText.objects.order_by("purpose", "language", "-version")
    return list(qs.filter(purpose=purpose) if purpose else qs)


@router.post(
    "/marketing/consent-texts",
    response={201: TextOut, **PROBLEM_RESPONSES},
    summary="A new version of a consent text (texts are never edited)",
    operation_id="consent_text_create",
)
def consent_text_create(request: HttpRequest, payload: TextIn):
    if not request.auth.has_perm("marketing.add"):
        raise PermissionDenied
    text = services.text_create_version(
        purpose=payload.purpose, language=payload.language, text=payload.text, actor=request.auth
    )
    return Status(201, text)
