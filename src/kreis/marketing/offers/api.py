"""API routes of content offers: offers (upload as multipart), the links handed out, the
follow-up rules, what the follow-ups sent, and running the follow-ups now."""

import datetime as dt
from typing import Annotated, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from kreis.core.api_support import PROBLEM_RESPONSES, IdValue, Input, ObjectId, Pagination
from kreis.leads.queries import lead_list_for_user
from kreis.marketing.models import Campaign, ContentOffer, FollowUpTrigger, LeadForm
from kreis.marketing.offers import followups, queries, services

router = Router(tags=["content offers"])

Language = Literal["de", "en"]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
Text = Annotated[str, Field(max_length=5000, pattern=r"^[^\x00]*$")]
Topic = Annotated[str, Field(max_length=100, pattern=r"^[^\x00]*$")]
Position = Annotated[int, Field(ge=0, le=32767)]
TriggerName = Literal[tuple(FollowUpTrigger.values)]  # type: ignore[valid-type]


class OfferOut(Schema):
    id: int
    name: str
    description: str
    language: str
    topic: str
    position: int
    filename: str
    content_type: str
    size: int
    form_id: int | None
    campaign_id: int | None
    is_active: bool
    created_at: dt.datetime


class OfferUpdate(Input):
    name: Name | None = None
    description: Text | None = None
    language: Language | None = None
    topic: Topic | None = None
    position: Position | None = None
    form_id: IdValue | None = Field(None, description="0 or null leaves it; see form_clear")
    form_clear: bool = Field(False, description="Take the offer from its form")
    campaign_id: IdValue | None = None
    campaign_clear: bool = False
    is_active: bool | None = None


class DownloadOut(Schema):
    id: int
    offer_id: int
    lead_id: int | None
    party_id: int | None
    created_at: dt.datetime
    expires_at: dt.datetime
    downloaded_at: dt.datetime | None
    download_count: int


class RuleOut(Schema):
    id: int
    name: str
    trigger: str
    min_score: float | None
    path_contains: str
    visit_count: int
    within_days: int
    offer_id: int
    is_active: bool
    created_at: dt.datetime


class RuleWrite(Input):
    trigger: TriggerName | None = None
    min_score: float | None = Field(None, ge=0, le=100)
    path_contains: Annotated[str, Field(max_length=200, pattern=r"^[^\x00]*$")] | None = None
    visit_count: int | None = Field(None, ge=1, le=32767)
    within_days: int | None = Field(None, ge=1, le=32767)
    offer_id: IdValue | None = None
    is_active: bool | None = None


class RuleCreate(RuleWrite):
    name: Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[^\x00]*$")]
    trigger: TriggerName
    offer_id: IdValue


class RuleUpdate(RuleWrite):
    name: Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[^\x00]*$")] | None = None


class SentOut(Schema):
    id: int
    rule_id: int | None
    offer_id: int
    lead_id: int
    sent_at: dt.datetime
    reason: str


class RunIn(Input):
    dry_run: bool = Field(False, description="Only say what would be sent")


class PlannedOut(Schema):
    lead_id: int
    offer_id: int
    rule_id: int
    reason: str
    sent: bool
    refused: str = Field(description="Why it was not sent (no marketing consent …), or empty")


def _need(request: HttpRequest, perm: str) -> None:
    if not request.auth.has_perm(perm):
        raise PermissionDenied


def _form(request: HttpRequest, form_id: int | None) -> LeadForm | None:
    """The web form an offer is put behind: one the caller may see (else "no such")."""
    form = LeadForm.objects.filter(pk=form_id).first() if form_id else None
    if form_id and (form is None or not request.auth.has_perm("marketing.view_record", form)):
        raise ValidationError({"form_id": _("No such web form.")})
    return form


def _campaign(request: HttpRequest, campaign_id: int | None) -> Campaign | None:
    """The campaign an offer belongs to: one the caller may see (else "no such")."""
    campaign = Campaign.objects.filter(pk=campaign_id).first() if campaign_id else None
    if campaign_id and (
        campaign is None or not request.auth.has_perm("marketing.view_record", campaign)
    ):
        raise ValidationError({"campaign_id": _("No such campaign.")})
    return campaign


def _offer_ref(offer_id: int) -> ContentOffer:
    offer = ContentOffer.objects.filter(pk=offer_id).first()
    if offer is None:
        raise ValidationError({"offer_id": _("No such content offer.")})
    return offer


@router.get(
    "/marketing/offers",
    response=list[OfferOut],
    summary="List content offers",
    operation_id="offer_list",
)
@paginate(Pagination)
def offer_list(request: HttpRequest):
    _need(request, "marketing.view")
    return queries.offer_list_for_user(user=request.auth)


@router.post(
    "/marketing/offers",
    response={201: OfferOut, **PROBLEM_RESPONSES},
    summary="Upload a content offer (multipart: the file and its fields)",
    operation_id="offer_create",
)
def offer_create(
    request: HttpRequest,
    file: File[UploadedFile],
    name: Form[str],
    description: Form[str] = "",
    language: Form[Language] = "de",
    topic: Form[str] = "",
    position: Form[int] = 0,
    form_id: Form[int | None] = None,
    campaign_id: Form[int | None] = None,
    is_active: Form[bool] = True,
):
    """A file of at most 20 MB whose content is a PDF, an office document, an image, a ZIP
    archive or text; anything else is refused (422) and nothing is stored."""
    texts = {"name": name, "description": description, "topic": topic}
    for key, value in texts.items():
        if "\x00" in value:
            raise ValidationError({key: _("This field must not contain NUL characters.")})
    for key, value in {"form_id": form_id, "campaign_id": campaign_id}.items():
        if value is not None and not 1 <= value <= 2**31 - 1:
            raise ValidationError({key: _("Not a valid id.")})
    offer = services.offer_create(
        actor=request.auth,
        file=file,
        name=name,
        description=description,
        language=language,
        topic=topic,
        position=position,
        form=_form(request, form_id),
        campaign=_campaign(request, campaign_id),
        is_active=is_active,
    )
    return Status(201, offer)


@router.get(
    "/marketing/offers/{offer_id}",
    response={200: OfferOut, **PROBLEM_RESPONSES},
    summary="A content offer",
    operation_id="offer_detail",
)
def offer_detail(request: HttpRequest, offer_id: ObjectId):
    return queries.offer_get_for_user(user=request.auth, pk=offer_id)


@router.patch(
    "/marketing/offers/{offer_id}",
    response={200: OfferOut, **PROBLEM_RESPONSES},
    summary="Change a content offer's fields (the file is replaced on the offer's page)",
    operation_id="offer_update",
)
def offer_update(request: HttpRequest, offer_id: ObjectId, payload: OfferUpdate):
    offer = queries.offer_get_for_user(user=request.auth, pk=offer_id, write=True)
    data = payload.model_dump(exclude_unset=True)
    fields = {
        k: v
        for k, v in data.items()
        if v is not None and k not in ("form_id", "campaign_id", "form_clear", "campaign_clear")
    }
    if data.get("form_clear"):
        fields["form"] = None
    elif data.get("form_id"):
        fields["form"] = _form(request, data["form_id"])
    if data.get("campaign_clear"):
        fields["campaign"] = None
    elif data.get("campaign_id"):
        fields["campaign"] = _campaign(request, data["campaign_id"])
    return services.offer_update(actor=request.auth, offer=offer, **fields)


@router.delete(
    "/marketing/offers/{offer_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a content offer and its file",
    operation_id="offer_delete",
)
def offer_delete(request: HttpRequest, offer_id: ObjectId):
    offer = queries.offer_get_for_user(user=request.auth, pk=offer_id, write=True)
    services.offer_delete(actor=request.auth, offer=offer)
    return Status(204, None)


@router.get(
    "/marketing/offers/{offer_id}/downloads",
    response=list[DownloadOut],
    summary="The download links of an offer handed out to leads and contacts you may see",
    operation_id="offer_downloads",
)
@paginate(Pagination)
def offer_downloads(request: HttpRequest, offer_id: ObjectId):
    offer = queries.offer_get_for_user(user=request.auth, pk=offer_id)
    return queries.downloads_for_user(user=request.auth, offer=offer)


@router.get(
    "/marketing/follow-up-rules",
    response=list[RuleOut],
    summary="List follow-up rules",
    operation_id="follow_up_rule_list",
)
@paginate(Pagination)
def rule_list(request: HttpRequest):
    _need(request, "marketing.view")
    return queries.rule_list_for_user(user=request.auth).order_by("name", "pk")


def _rule_args(payload: Input) -> dict:
    data = payload.model_dump(exclude_unset=True)
    if data.get("offer_id"):
        data["offer"] = _offer_ref(data.pop("offer_id"))
    data.pop("offer_id", None)
    return data


@router.post(
    "/marketing/follow-up-rules",
    response={201: RuleOut, **PROBLEM_RESPONSES},
    summary="Create a follow-up rule",
    operation_id="follow_up_rule_create",
)
def rule_create(request: HttpRequest, payload: RuleCreate):
    rule = services.rule_save(actor=request.auth, **_rule_args(payload))
    return Status(201, rule)


@router.get(
    "/marketing/follow-up-rules/{rule_id}",
    response={200: RuleOut, **PROBLEM_RESPONSES},
    summary="A follow-up rule",
    operation_id="follow_up_rule_detail",
)
def rule_detail(request: HttpRequest, rule_id: ObjectId):
    return queries.rule_get_for_user(user=request.auth, pk=rule_id)


@router.patch(
    "/marketing/follow-up-rules/{rule_id}",
    response={200: RuleOut, **PROBLEM_RESPONSES},
    summary="Change a follow-up rule",
    operation_id="follow_up_rule_update",
)
def rule_update(request: HttpRequest, rule_id: ObjectId, payload: RuleUpdate):
    rule = queries.rule_get_for_user(user=request.auth, pk=rule_id, write=True)
    return services.rule_save(actor=request.auth, rule=rule, **_rule_args(payload))


@router.delete(
    "/marketing/follow-up-rules/{rule_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a follow-up rule (what it sent stays on record)",
    operation_id="follow_up_rule_delete",
)
def rule_delete(request: HttpRequest, rule_id: ObjectId):
    rule = queries.rule_get_for_user(user=request.auth, pk=rule_id, write=True)
    services.rule_delete(actor=request.auth, rule=rule)
    return Status(204, None)


@router.get(
    "/marketing/follow-ups",
    response=list[SentOut],
    summary="Offers the follow-up rules sent, to leads you may see",
    operation_id="follow_up_sent_list",
)
@paginate(Pagination)
def sent_list(request: HttpRequest):
    _need(request, "marketing.view")
    return queries.sent_for_user(user=request.auth)


@router.post(
    "/marketing/follow-ups/run",
    response={200: list[PlannedOut], **PROBLEM_RESPONSES},
    summary="Send the follow-up offers due now (or, with dry_run, list them)",
    operation_id="follow_up_run",
)
def follow_up_run(request: HttpRequest, payload: RunIn):
    _need(request, "marketing.add")
    items = followups.run(dry_run=payload.dry_run)
    shown = [i.lead.pk for i in items]
    visible = set(
        lead_list_for_user(user=request.auth).filter(pk__in=shown).values_list("pk", flat=True)
    )
    return [
        {
            "lead_id": i.lead.pk,
            "offer_id": i.offer.pk,
            "rule_id": i.rule.pk,
            "reason": i.reason,
            "sent": i.sent,
            "refused": i.refused,
        }
        for i in items
        if i.lead.pk in visible
    ]
