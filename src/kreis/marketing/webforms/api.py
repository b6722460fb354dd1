"""Web forms through the API: ``/marketing/forms`` (CRUD; ``If-Match`` on writes) and
``/marketing/forms/{id}/submissions``. Visitors send forms through the public endpoint
``/f/<key>/submit``, not through this API."""

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from kreis.core.api_support import (
    PROBLEM_RESPONSES,
    IdValue,
    Input,
    ObjectId,
    Pagination,
    check_if_match,
    etag,
)
from kreis.marketing.models import Campaign, FormSubmission, LeadForm
from kreis.marketing.webforms import queries, services, tasks

router = Router(tags=["web forms"])
CHANGE = "marketing.change_record"


class FieldRow(Input):
    key: str = Field(max_length=80, description="A lead field or custom.<key>.")
    label: str = Field("", max_length=100)
    required: bool = False


class FieldOut(Schema):
    key: str
    label: str = ""
    required: bool = False


class FormOut(Schema):
    id: int
    name: str
    key: str
    language: str
    title: str
    intro: str
    fields: list[FieldOut]
    consent_purposes: list[str]
    submit_label: str
    thank_you_text: str
    redirect_url: str
    allowed_origins: list[str]
    campaign_id: int | None
    lead_source: str
    is_active: bool
    owner_id: int | None
    public_url: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_allowed_origins(obj: LeadForm) -> list[str]:
        return obj.origins()

    @staticmethod
    def resolve_public_url(obj: LeadForm) -> str:
        return f"/f/{obj.key}/"


class FormCreate(Input):
    name: str = Field(max_length=120)
    key: str = Field(max_length=60, pattern=r"^[-a-z0-9_]+$")
    language: Literal["de", "en"] = "de"
    title: str = Field("", max_length=200)
    intro: str = Field("", max_length=5000)
    fields: list[FieldRow] | None = Field(None, max_length=services.MAX_FIELDS)
    consent_purposes: list[str] = Field(default_factory=list, max_length=10)
    submit_label: str = Field("", max_length=60)
    thank_you_text: str = Field("", max_length=5000)
    redirect_url: str = Field("", max_length=200)
    allowed_origins: list[str] = Field(default_factory=list, max_length=50)
    campaign_id: IdValue | None = None
    lead_source: str = Field("web form", max_length=100)
    is_active: bool = True


class FormPatch(Input):
    name: str | None = Field(None, max_length=120)
    key: str | None = Field(None, max_length=60, pattern=r"^[-a-z0-9_]+$")
    language: Literal["de", "en"] | None = None
    title: str | None = Field(None, max_length=200)
    intro: str | None = Field(None, max_length=5000)
    fields: list[FieldRow] | None = Field(None, max_length=services.MAX_FIELDS)
    consent_purposes: list[str] | None = Field(None, max_length=10)
    submit_label: str | None = Field(None, max_length=60)
    thank_you_text: str | None = Field(None, max_length=5000)
    redirect_url: str | None = Field(None, max_length=200)
    allowed_origins: list[str] | None = Field(None, max_length=50)
    campaign_id: IdValue | None = None
    lead_source: str | None = Field(None, max_length=100)
    is_active: bool | None = None


class SubmissionOut(Schema):
    id: int
    form_id: int
    created_at: dt.datetime
    outcome: str = Field(
        description="created, updated or party; pending until the job has processed it, "
        "failed after its last attempt"
    )
    processed_at: dt.datetime | None
    attempts: int
    error: str
    lead_id: int | None
    party_id: int | None
    campaign_id: int | None
    data: dict[str, Any]
    page_url: str
    referrer: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    utm_term: str
    utm_content: str


def _args(request: HttpRequest, payload: Input) -> dict[str, Any]:
    data = payload.model_dump(exclude_unset=True)
    args: dict[str, Any] = {}
    for name, value in data.items():
        if name == "campaign_id":
            campaign = Campaign.objects.filter(pk=value).first() if value else None
            if value and (
                campaign is None or not request.auth.has_perm("marketing.view_record", campaign)
            ):
                raise ValidationError({"campaign_id": _("There is no such campaign.")})
            args["campaign"] = campaign
        elif name == "allowed_origins":
            args[name] = "\n".join(value or [])
        elif value is None:
            continue
        else:
            args[name] = value
    return args


def _form(request: HttpRequest, form_id: int, perm: str = "marketing.view_record") -> LeadForm:
    return queries.form_get_for_user(user=request.auth, pk=form_id, perm=perm)


@router.get(
    "/marketing/forms",
    response=list[FormOut],
    summary="List web forms",
    operation_id="webform_list",
)
@paginate(Pagination)
def form_list(request: HttpRequest):
    return queries.form_list_for_user(user=request.auth)


@router.post(
    "/marketing/forms",
    response={201: FormOut, **PROBLEM_RESPONSES},
    summary="Create a web form",
    operation_id="webform_create",
)
def form_create(request: HttpRequest, payload: FormCreate, response: HttpResponse):
    form = services.form_create(actor=request.auth, **_args(request, payload))
    response["ETag"] = etag(form)
    return Status(201, form)


@router.get(
    "/marketing/forms/{form_id}",
    response={200: FormOut, **PROBLEM_RESPONSES},
    summary="A web form",
    operation_id="webform_detail",
)
def form_detail(request: HttpRequest, form_id: ObjectId, response: HttpResponse):
    form = _form(request, form_id)
    response["ETag"] = etag(form)
    return form


@router.patch(
    "/marketing/forms/{form_id}",
    response={200: FormOut, **PROBLEM_RESPONSES},
    summary="Change a web form (only the fields sent)",
    operation_id="webform_update",
)
def form_update(
    request: HttpRequest, form_id: ObjectId, payload: FormPatch, response: HttpResponse
):
    form = _form(request, form_id, CHANGE)
    check_if_match(request, form)
    form = services.form_update(actor=request.auth, form=form, **_args(request, payload))
    response["ETag"] = etag(form)
    return form


@router.delete(
    "/marketing/forms/{form_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a web form and its submissions (the leads stay)",
    operation_id="webform_delete",
)
def form_delete(request: HttpRequest, form_id: ObjectId):
    form = _form(request, form_id, CHANGE)
    check_if_match(request, form)
    services.form_delete(actor=request.auth, form=form)
    return Status(204, None)


@router.get(
    "/marketing/forms/{form_id}/submissions",
    response={200: list[SubmissionOut], **PROBLEM_RESPONSES},
    summary="A web form's submissions, newest first",
    operation_id="webform_submissions",
)
@paginate(Pagination)
def submission_list(request: HttpRequest, form_id: ObjectId, since: dt.datetime | None = None):
    return queries.submissions(_form(request, form_id), since=since)


@router.post(
    "/marketing/forms/{form_id}/submissions/{submission_id}/retry",
    response={200: SubmissionOut, **PROBLEM_RESPONSES},
    summary="Process a failed submission again",
    operation_id="webform_submission_retry",
)
def submission_retry(request: HttpRequest, form_id: ObjectId, submission_id: ObjectId):
    form = _form(request, form_id, "marketing.change_record")
    submission = get_object_or_404(FormSubmission, form=form, pk=submission_id)
    tasks.retry(actor=request.auth, submission=submission)
    submission.refresh_from_db()
    return submission
