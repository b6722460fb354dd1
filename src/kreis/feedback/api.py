"""API routes for surveys: CRUD, questions, phase moves, invitations, staff-entered responses
and the analysis as JSON."""

import datetime as dt
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
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
from kreis.core.models import SavedView
from kreis.feedback import queries, services
from kreis.feedback.models import (
    BenefitDimension,
    LoyaltyFactor,
    Question,
    QuestionKind,
    ResponseChannel,
    Survey,
    SurveyMethod,
    SurveyPhase,
)
from kreis.marketing.models import Segment
from kreis.parties.queries import party_get_for_user

router = Router(tags=["surveys"])

PhaseName = Literal[tuple(SurveyPhase.values)]  # type: ignore[valid-type]
MethodName = Literal[tuple(SurveyMethod.values)]  # type: ignore[valid-type]
KindName = Literal[tuple(QuestionKind.values)]  # type: ignore[valid-type]
DimensionName = Literal[tuple(BenefitDimension.values), ""]  # type: ignore[valid-type]
FactorName = Literal[tuple(LoyaltyFactor.values), ""]  # type: ignore[valid-type]
StaffChannel = Literal["personal", "phone", "written"]
Language = Literal["de", "en"]
Text = Annotated[str, Field(max_length=20000, pattern=r"^[^\x00]*$")]

MANAGE = "feedback.manage_survey"
ENTER = "feedback.enter_answers"


class SurveyOut(Schema):
    id: int
    name: str
    goals: str
    core_questions: str
    phase: str
    method: str
    anonymous: bool
    language: str
    target_view_id: int | None
    target_segment_id: int | None
    target_query: str
    link_valid_days: int
    owner_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class SurveyWrite(Input):
    goals: Text | None = None
    core_questions: Text | None = None
    method: MethodName | None = None
    anonymous: bool | None = None
    language: Language | None = None
    target_view_id: IdValue | None = None
    target_segment_id: IdValue | None = Field(
        None, description="A segment: its members are the target group, before view and query."
    )
    target_query: str | None = Field(None, max_length=1000, pattern=r"^[^\x00]*$")
    link_valid_days: int | None = Field(None, ge=1, le=365)


class SurveyCreate(SurveyWrite):
    name: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$")


class SurveyUpdate(SurveyWrite):
    name: str | None = Field(None, min_length=1, max_length=200, pattern=r"^[^\x00]*$")


class QuestionOut(Schema):
    id: int
    position: int
    kind: str
    text_de: str
    text_en: str
    options_de: str
    options_en: str
    required: bool
    dimension: str
    loyalty_factor: str


class QuestionWrite(Input):
    text_de: str | None = Field(None, min_length=1, max_length=500, pattern=r"^[^\x00]*$")
    text_en: str | None = Field(None, min_length=1, max_length=500, pattern=r"^[^\x00]*$")
    options_de: Text | None = None
    options_en: Text | None = None
    required: bool | None = None
    dimension: DimensionName | None = None
    loyalty_factor: FactorName | None = None


class QuestionCreate(QuestionWrite):
    kind: KindName
    text_de: str = Field(min_length=1, max_length=500, pattern=r"^[^\x00]*$")
    text_en: str = Field(min_length=1, max_length=500, pattern=r"^[^\x00]*$")


class QuestionUpdate(QuestionWrite):
    kind: KindName | None = None


class QuestionMoveIn(Input):
    step: Literal["up", "down"]


class MoveIn(Input):
    to_phase: PhaseName
    note: str = Field("", max_length=300, pattern=r"^[^\x00]*$")


class InvitationsOut(Schema):
    invited: int
    answered: int
    reminded: int


class InviteResultOut(Schema):
    invited: int = Field(description="New invitations sent now.")
    without_email: int
    already_invited: int


class RemindResultOut(Schema):
    reminded: int


class AnswerIn(Input):
    question_id: IdValue
    value: int | None = Field(
        None, ge=0, le=10, description="0–10, 1–5, the chosen option's index, or the expectation"
    )
    performance: int | None = Field(
        None, ge=1, le=5, description="Expectation-vs-performance items: the performance (IST)."
    )
    choices: list[Annotated[int, Field(ge=0, le=100)]] | None = Field(None, max_length=100)
    text: str | None = Field(None, max_length=5000, pattern=r"^[^\x00]*$")


class ResponseIn(Input):
    party_id: IdValue | None = None
    channel: StaffChannel
    language: Language | None = None
    answers: list[AnswerIn] = Field(max_length=500)


class ResponseOut(Schema):
    id: int
    survey_id: int
    party_id: int | None
    channel: str
    language: str
    nps: int | None
    entered_by_id: int | None
    created_at: dt.datetime


def _survey(request: HttpRequest, survey_id: int, perm: str = "feedback.view_survey") -> Survey:
    return queries.survey_get_for_user(user=request.auth, pk=survey_id, perm=perm)


def _survey_args(request: HttpRequest, payload: Input) -> dict:
    data = payload.model_dump(exclude_unset=True)
    args: dict[str, Any] = {k: v for k, v in data.items() if v is not None}
    if "target_view_id" in data:
        view_id = args.pop("target_view_id", None)
        view = None
        if view_id:
            view = SavedView.objects.filter(
                pk=view_id, user=request.auth, list_name="parties"
            ).first()
            if view is None:
                raise ValidationError({"target_view_id": _("No such saved party view of yours.")})
        args["target_view"] = view
    if "target_segment_id" in data:
        segment_id = args.pop("target_segment_id", None)
        segment = None
        if segment_id:
            segment = Segment.objects.filter(pk=segment_id).first()
            if segment is None or not request.auth.has_perm("marketing.view_record", segment):
                raise ValidationError({"target_segment_id": _("No such segment.")})
        args["target_segment"] = segment
    return args


@router.get(
    "/surveys", response=list[SurveyOut], summary="List surveys", operation_id="survey_list"
)
@paginate(Pagination)
def survey_list(request: HttpRequest, phase: PhaseName | None = None):
    qs = queries.survey_list_for_user(user=request.auth)
    return qs.filter(phase=phase) if phase else qs


@router.post(
    "/surveys",
    response={201: SurveyOut, **PROBLEM_RESPONSES},
    summary="Create a survey (in its definition phase)",
    operation_id="survey_create",
)
def survey_create(request: HttpRequest, payload: SurveyCreate, response: HttpResponse):
    survey = services.survey_create(actor=request.auth, **_survey_args(request, payload))
    response["ETag"] = etag(survey)
    return Status(201, survey)


@router.get(
    "/surveys/{survey_id}",
    response={200: SurveyOut, **PROBLEM_RESPONSES},
    summary="A survey",
    operation_id="survey_detail",
)
def survey_detail(request: HttpRequest, survey_id: ObjectId, response: HttpResponse):
    survey = _survey(request, survey_id)
    response["ETag"] = etag(survey)
    return survey


@router.patch(
    "/surveys/{survey_id}",
    response={200: SurveyOut, **PROBLEM_RESPONSES},
    summary="Change a survey's definition (phases change through /move)",
    operation_id="survey_update",
)
def survey_update(
    request: HttpRequest, survey_id: ObjectId, payload: SurveyUpdate, response: HttpResponse
):
    survey = _survey(request, survey_id, MANAGE)
    check_if_match(request, survey)
    survey = services.survey_update(
        actor=request.auth, survey=survey, **_survey_args(request, payload)
    )
    response["ETag"] = etag(survey)
    return survey


@router.delete(
    "/surveys/{survey_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a survey that has no answers",
    operation_id="survey_delete",
)
def survey_delete(request: HttpRequest, survey_id: ObjectId):
    survey = _survey(request, survey_id, MANAGE)
    check_if_match(request, survey)
    services.survey_delete(actor=request.auth, survey=survey)
    return Status(204, None)


@router.post(
    "/surveys/{survey_id}/move",
    response={200: SurveyOut, **PROBLEM_RESPONSES},
    summary="Move a survey to the next phase, or back one",
    operation_id="survey_move",
)
def survey_move(request: HttpRequest, survey_id: ObjectId, payload: MoveIn, response: HttpResponse):
    survey = _survey(request, survey_id, MANAGE)
    check_if_match(request, survey)
    services.survey_move(actor=request.auth, survey=survey, **payload.model_dump())
    survey = _survey(request, survey_id)
    response["ETag"] = etag(survey)
    return survey


@router.get(
    "/surveys/{survey_id}/questions",
    response={200: list[QuestionOut], **PROBLEM_RESPONSES},
    summary="The survey's questions, in order",
    operation_id="survey_questions",
)
def question_list(request: HttpRequest, survey_id: ObjectId):
    return list(_survey(request, survey_id).questions.all())


@router.post(
    "/surveys/{survey_id}/questions",
    response={201: QuestionOut, **PROBLEM_RESPONSES},
    summary="Add a question (definition and design phases)",
    operation_id="survey_question_add",
)
def question_add(request: HttpRequest, survey_id: ObjectId, payload: QuestionCreate):
    survey = _survey(request, survey_id, MANAGE)
    check_if_match(request, survey)
    data = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    return Status(201, services.question_add(actor=request.auth, survey=survey, **data))


def _question(survey: Survey, question_id: int) -> Question:
    question = survey.questions.filter(pk=question_id).first()
    if question is None:
        raise Http404
    return question


@router.patch(
    "/surveys/{survey_id}/questions/{question_id}",
    response={200: QuestionOut, **PROBLEM_RESPONSES},
    summary="Change a question (definition and design phases)",
    operation_id="survey_question_update",
)
def question_update(
    request: HttpRequest, survey_id: ObjectId, question_id: ObjectId, payload: QuestionUpdate
):
    survey = _survey(request, survey_id, MANAGE)
    data = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    return services.question_update(
        actor=request.auth, question=_question(survey, question_id), **data
    )


@router.delete(
    "/surveys/{survey_id}/questions/{question_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a question (definition and design phases)",
    operation_id="survey_question_delete",
)
def question_delete(request: HttpRequest, survey_id: ObjectId, question_id: ObjectId):
    survey = _survey(request, survey_id, MANAGE)
    services.question_delete(actor=request.auth, question=_question(survey, question_id))
    return Status(204, None)


@router.post(
    "/surveys/{survey_id}/questions/{question_id}/move",
    response={200: list[QuestionOut], **PROBLEM_RESPONSES},
    summary="Move a question one place up or down (definition and design phases)",
    operation_id="survey_question_move",
)
def question_move(
    request: HttpRequest, survey_id: ObjectId, question_id: ObjectId, payload: QuestionMoveIn
):
    survey = _survey(request, survey_id, MANAGE)
    services.question_move(
        actor=request.auth,
        question=_question(survey, question_id),
        step=-1 if payload.step == "up" else 1,
    )
    return list(survey.questions.all())


@router.get(
    "/surveys/{survey_id}/invitations",
    response={200: InvitationsOut, **PROBLEM_RESPONSES},
    summary="How many were invited, have answered, were reminded",
    operation_id="survey_invitations",
)
def invitations(request: HttpRequest, survey_id: ObjectId):
    return queries.invitation_counts(_survey(request, survey_id, MANAGE))


@router.post(
    "/surveys/{survey_id}/invitations",
    response={200: InviteResultOut, **PROBLEM_RESPONSES},
    summary="Invite the target group not yet invited (personal links by e-mail)",
    operation_id="survey_invite",
)
def invite(request: HttpRequest, survey_id: ObjectId):
    survey = _survey(request, survey_id, MANAGE)
    check_if_match(request, survey)
    result = services.survey_invite(
        actor=request.auth, survey=survey, base_url=request.build_absolute_uri("/")
    )
    return result.__dict__


@router.post(
    "/surveys/{survey_id}/reminders",
    response={200: RemindResultOut, **PROBLEM_RESPONSES},
    summary="Remind the invited who have not answered (once each; a new link)",
    operation_id="survey_remind",
)
def remind(request: HttpRequest, survey_id: ObjectId):
    survey = _survey(request, survey_id, MANAGE)
    check_if_match(request, survey)
    count = services.survey_remind(
        actor=request.auth, survey=survey, base_url=request.build_absolute_uri("/")
    )
    return {"reminded": count}


def _response_out(request: HttpRequest, response) -> dict:
    visible = queries.party_visible(user=request.auth, party=response.party)
    return {
        "id": response.pk,
        "survey_id": response.survey_id,
        "party_id": response.party_id if visible else None,
        "channel": response.channel,
        "language": response.language,
        "nps": response.nps,
        "entered_by_id": response.entered_by_id,
        "created_at": response.created_at,
    }


@router.get(
    "/surveys/{survey_id}/responses",
    response={200: list[ResponseOut], **PROBLEM_RESPONSES},
    summary="The survey's responses (the party only where you may see it)",
    operation_id="survey_responses",
)
@paginate(Pagination)
def response_list(request: HttpRequest, survey_id: ObjectId):
    survey = _survey(request, survey_id)
    rows = queries.response_list_for_user(user=request.auth, survey=survey)
    return [_response_out(request, r) for r in rows]


@router.post(
    "/surveys/{survey_id}/responses",
    response={201: ResponseOut, **PROBLEM_RESPONSES},
    summary="Enter a response taken in person, by phone or in writing",
    operation_id="survey_response_enter",
)
def response_enter(request: HttpRequest, survey_id: ObjectId, payload: ResponseIn):
    survey = _survey(request, survey_id, ENTER)
    check_if_match(request, survey)
    party = None
    if payload.party_id:
        party = party_get_for_user(user=request.auth, pk=payload.party_id, related=False)
    raw: dict[int, dict] = {}
    for answer in payload.answers:
        raw[answer.question_id] = {
            "value": answer.value,
            "value2": answer.performance,
            "choices": answer.choices or [],
            "text": answer.text or "",
        }
    response = services.response_enter(
        actor=request.auth,
        survey=survey,
        party=party,
        channel=ResponseChannel(payload.channel),
        language=payload.language or "",
        raw_answers=raw,
    )
    return Status(201, _response_out(request, response))


@router.get(
    "/surveys/{survey_id}/analysis",
    response={200: dict[str, Any], **PROBLEM_RESPONSES},
    summary="CSAT, NPS with its 95 % CI, loyalty index, SOLL/IST shares, breakdowns, free text",
    operation_id="survey_analysis",
)
def survey_analysis(request: HttpRequest, survey_id: ObjectId):
    return queries.survey_analysis_for_user(user=request.auth, survey=_survey(request, survey_id))
