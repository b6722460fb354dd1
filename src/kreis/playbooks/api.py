"""API routes for playbooks: the definition and its steps (administrators), the parties in a
playbook (as far as the caller may see them), start and stop for many parties, and the
measurement against the control group."""

import datetime as dt
from typing import Annotated, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
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
    if_match_write,
    with_etag,
)
from kreis.marketing.relationships.models import RelationshipType
from kreis.parties.models import LifecyclePhase
from kreis.parties.queries import party_get_for_user
from kreis.playbooks import queries, services
from kreis.playbooks.models import (
    EnrollmentStatus,
    Playbook,
    PlaybookKind,
    PlaybookStep,
    StepAction,
)

router = Router(tags=["playbooks"])

KindName = Literal[tuple(PlaybookKind.values)]  # type: ignore[valid-type]
PhaseName = Literal[tuple(LifecyclePhase.values)]  # type: ignore[valid-type]
ActionName = Literal[tuple(StepAction.values)]  # type: ignore[valid-type]
StatusName = Literal[tuple(EnrollmentStatus.values)]  # type: ignore[valid-type]
Name = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[^\x00]*$")]
Title = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
Text = Annotated[str, Field(max_length=5000, pattern=r"^[^\x00]*$")]


class PlaybookStepOut(Schema):
    id: int
    position: int
    delay_days: int
    action: str
    due_days: int
    title_de: str
    title_en: str
    description_de: str
    description_en: str
    send_email: bool
    offer_products: int
    offer_months: int


class PlaybookOut(Schema):
    id: int
    key: str | None
    name_de: str
    name_en: str
    description_de: str
    description_en: str
    kind: str
    entry_phases: list[str]
    enabled: bool
    holdout_percent: int
    window_days: int
    exit_on_order: bool
    exit_on_phase_left: bool
    exit_on_deal_won: bool
    relationship_type_ids: list[int]
    steps: list[PlaybookStepOut]
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_relationship_type_ids(obj) -> list[int]:
        return sorted(t.pk for t in obj.relationship_types.all())

    @staticmethod
    def resolve_steps(obj) -> list:
        return list(obj.steps.order_by("position"))


class PlaybookWrite(Input):
    description_de: Text | None = None
    description_en: Text | None = None
    entry_phases: list[PhaseName] | None = Field(None, max_length=7)
    enabled: bool | None = None
    holdout_percent: int | None = Field(None, ge=0, le=50)
    window_days: int | None = Field(None, ge=1, le=730)
    exit_on_order: bool | None = None
    exit_on_phase_left: bool | None = None
    exit_on_deal_won: bool | None = None
    relationship_type_ids: list[IdValue] | None = Field(None, max_length=100)


class PlaybookCreateIn(PlaybookWrite):
    name_de: Name
    name_en: Name
    kind: KindName


class PlaybookUpdateIn(PlaybookWrite):
    name_de: Name | None = None
    name_en: Name | None = None
    kind: KindName | None = None


class PlaybookStepWrite(Input):
    delay_days: int | None = Field(None, ge=0, le=365)
    due_days: int | None = Field(None, ge=0, le=365)
    description_de: Text | None = None
    description_en: Text | None = None
    send_email: bool | None = None
    offer_products: int | None = Field(
        None, ge=1, le=10, description="Personalised offer: how many of the top products."
    )
    offer_months: int | None = Field(
        None, ge=1, le=120, description="Personalised offer: purchases of the last months."
    )


class PlaybookStepCreateIn(PlaybookStepWrite):
    action: ActionName
    title_de: Title
    title_en: Title


class PlaybookStepUpdateIn(PlaybookStepWrite):
    action: ActionName | None = None
    title_de: Title | None = None
    title_en: Title | None = None


class PlaybookEnrollmentOut(Schema):
    id: int
    playbook_id: int
    party_id: int
    party_name: str
    status: str
    current_step: int
    entered_at: dt.datetime
    next_step_at: dt.datetime | None
    finished_at: dt.datetime | None
    window_ends_on: dt.date
    exit_reason: str
    exit_note: str
    source: str
    phase_change_id: int | None
    offer_quote_id: int | None = Field(
        None, description="The draft quote the personalised offer step made."
    )

    @staticmethod
    def resolve_party_name(obj) -> str:
        return obj.party.name

    @staticmethod
    def resolve_offer_quote_id(obj) -> int | None:
        return getattr(obj, "offer_quote_pk", None)


class PlaybookPartiesIn(Input):
    party_ids: list[IdValue] = Field(min_length=1, max_length=10000)


class PlaybookStopIn(PlaybookPartiesIn):
    reason: str = Field("", max_length=300, pattern=r"^[^\x00]*$")


class PlaybookStartOut(Schema):
    enrolled: int


class PlaybookStopOut(Schema):
    stopped: int


class PlaybookGroupOut(Schema):
    n: int
    successes: int
    rate: float | None


class PlaybookComparisonOut(Schema):
    treated: PlaybookGroupOut
    control: PlaybookGroupOut
    uplift: float | None
    ci_low: float | None
    ci_high: float | None
    significant: bool


class PlaybookStatsOut(Schema):
    metric: str
    window_days: int
    holdout_percent: int
    ended: PlaybookComparisonOut = Field(description="Only enrollments whose window has ended.")
    running: PlaybookComparisonOut = Field(description="All enrollments, windows still open.")


def _playbook(request: HttpRequest, playbook_id: int, perm: str = queries.VIEW) -> Playbook:
    return queries.playbook_get_for_user(user=request.auth, pk=playbook_id, perm=perm)


def _apply(playbook: Playbook, payload: Input) -> None:
    data = payload.model_dump(exclude_unset=True)
    type_ids = data.pop("relationship_type_ids", None)
    for field, value in data.items():
        if value is not None:
            setattr(playbook, field, value)
    playbook.full_clean(exclude=["created_by"])
    with transaction.atomic():
        playbook.save()
        if type_ids is not None:
            types = list(RelationshipType.objects.filter(pk__in=type_ids))
            if len(types) != len(set(type_ids)):
                raise ValidationError({"relationship_type_ids": _("No such relationship type.")})
            playbook.relationship_types.set(types)


@router.get(
    "/playbooks",
    response=list[PlaybookOut],
    summary="List playbooks",
    operation_id="playbook_list",
)
@paginate(Pagination)
def playbook_list(request: HttpRequest, kind: KindName | None = None):
    qs = queries.playbook_list_for_user(user=request.auth).prefetch_related(
        "relationship_types", "steps"
    )
    return qs.filter(kind=kind) if kind else qs


@router.post(
    "/playbooks",
    response={201: PlaybookOut, **PROBLEM_RESPONSES},
    summary="Create a playbook (administrators)",
    operation_id="playbook_create",
)
def playbook_create(request: HttpRequest, payload: PlaybookCreateIn, response: HttpResponse):
    if not request.auth.has_perm(queries.MANAGE):
        raise PermissionDenied
    playbook = Playbook(created_by=request.auth)
    _apply(playbook, payload)
    response["ETag"] = etag(playbook)
    return Status(201, playbook)


@router.get(
    "/playbooks/{playbook_id}",
    response={200: PlaybookOut, **PROBLEM_RESPONSES},
    summary="A playbook with its steps",
    operation_id="playbook_detail",
)
def playbook_detail(request: HttpRequest, playbook_id: ObjectId, response: HttpResponse):
    return with_etag(response, _playbook(request, playbook_id))


@router.patch(
    "/playbooks/{playbook_id}",
    response={200: PlaybookOut, **PROBLEM_RESPONSES},
    summary="Change a playbook (administrators)",
    operation_id="playbook_update",
)
def playbook_update(
    request: HttpRequest, playbook_id: ObjectId, payload: PlaybookUpdateIn, response: HttpResponse
):
    def change(playbook: Playbook) -> Playbook:
        _apply(playbook, payload)
        playbook.refresh_from_db()
        return playbook

    return if_match_write(
        request, _playbook(request, playbook_id, queries.MANAGE), change, response
    )


@router.delete(
    "/playbooks/{playbook_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a playbook with its steps and enrollments (administrators)",
    operation_id="playbook_delete",
)
def playbook_delete(request: HttpRequest, playbook_id: ObjectId):
    if_match_write(request, _playbook(request, playbook_id, queries.MANAGE), Playbook.delete)
    return Status(204, None)


@router.post(
    "/playbooks/{playbook_id}/steps",
    response={201: PlaybookStepOut, **PROBLEM_RESPONSES},
    summary="Add a step at the end (administrators)",
    operation_id="playbook_step_add",
)
def step_add(request: HttpRequest, playbook_id: ObjectId, payload: PlaybookStepCreateIn):
    playbook = _playbook(request, playbook_id, queries.MANAGE)
    check_if_match(request, playbook)
    data = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    step = PlaybookStep(playbook=playbook, position=1, **data)
    _check_step(step)
    return Status(201, services.step_add(playbook, step))


def _check_step(step: PlaybookStep) -> None:
    step.full_clean(exclude=["playbook", "position"], validate_unique=False)
    if step.send_email and step.action != StepAction.OFFER:
        raise ValidationError(
            {"send_email": _("Only a personalised offer step can also send an e-mail.")}
        )


def _step(playbook: Playbook, step_id: int) -> PlaybookStep:
    step = playbook.steps.filter(pk=step_id).first()
    if step is None:
        raise Http404
    return step


@router.patch(
    "/playbooks/{playbook_id}/steps/{step_id}",
    response={200: PlaybookStepOut, **PROBLEM_RESPONSES},
    summary="Change a step (administrators)",
    operation_id="playbook_step_update",
)
def step_update(
    request: HttpRequest, playbook_id: ObjectId, step_id: ObjectId, payload: PlaybookStepUpdateIn
):
    playbook = _playbook(request, playbook_id, queries.MANAGE)
    check_if_match(request, playbook)
    step = _step(playbook, step_id)
    for field, value in payload.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(step, field, value)
    _check_step(step)
    with transaction.atomic():
        step.save()
        Playbook.objects.filter(pk=playbook.pk).update(updated_at=timezone.now())
    return step


@router.delete(
    "/playbooks/{playbook_id}/steps/{step_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a step (administrators)",
    operation_id="playbook_step_delete",
)
def step_delete(request: HttpRequest, playbook_id: ObjectId, step_id: ObjectId):
    playbook = _playbook(request, playbook_id, queries.MANAGE)
    check_if_match(request, playbook)
    services.step_delete(_step(playbook, step_id))
    return Status(204, None)


@router.get(
    "/playbooks/{playbook_id}/enrollments",
    response={200: list[PlaybookEnrollmentOut], **PROBLEM_RESPONSES},
    summary="The parties in a playbook that the caller may see, with the step each reached",
    operation_id="playbook_enrollments",
)
@paginate(Pagination)
def enrollment_list(
    request: HttpRequest,
    playbook_id: ObjectId,
    status: StatusName | None = None,
    step: Annotated[int, Field(ge=0, le=1000)] | None = None,
):
    playbook = _playbook(request, playbook_id)
    return queries.with_offer_quote_id(
        queries.enrollment_list_for_user(
            user=request.auth, playbook=playbook, status=status or "", step=step
        )
    )


@router.get(
    "/parties/{party_id}/playbooks",
    response={200: list[PlaybookEnrollmentOut], **PROBLEM_RESPONSES},
    summary="A party's playbooks (its enrollments, newest first)",
    operation_id="party_playbook_enrollments",
)
@paginate(Pagination)
def party_enrollments(request: HttpRequest, party_id: ObjectId):
    party = party_get_for_user(user=request.auth, pk=party_id, related=False)
    return queries.with_offer_quote_id(
        queries.enrollment_list_for_user(user=request.auth, party=party)
    )


@router.post(
    "/playbooks/{playbook_id}/start",
    response={200: PlaybookStartOut, **PROBLEM_RESPONSES},
    summary="Enrol parties (administrators); those already in it are skipped",
    operation_id="playbook_start",
)
def playbook_start(request: HttpRequest, playbook_id: ObjectId, payload: PlaybookPartiesIn):
    playbook = _playbook(request, playbook_id, queries.MANAGE)
    check_if_match(request, playbook)
    enrolled = services.start_for_parties(
        playbook, payload.party_ids, source=f"api:{request.auth.pk}"
    )
    return {"enrolled": enrolled}


@router.post(
    "/playbooks/{playbook_id}/stop",
    response={200: PlaybookStopOut, **PROBLEM_RESPONSES},
    summary="Take parties out of a playbook (administrators)",
    operation_id="playbook_stop",
)
def playbook_stop(request: HttpRequest, playbook_id: ObjectId, payload: PlaybookStopIn):
    playbook = _playbook(request, playbook_id, queries.MANAGE)
    check_if_match(request, playbook)
    stopped = services.stop_for_parties(
        playbook, payload.party_ids, reason=payload.reason or "manual"
    )
    return {"stopped": stopped}


@router.get(
    "/playbooks/{playbook_id}/stats",
    response={200: PlaybookStatsOut, **PROBLEM_RESPONSES},
    summary="Retention or win-back rate, treated versus control group, with a 95 % interval",
    operation_id="playbook_stats",
)
def playbook_stats(request: HttpRequest, playbook_id: ObjectId):
    playbook = _playbook(request, playbook_id)
    return queries.stats_as_dict(queries.playbook_stats(playbook))
