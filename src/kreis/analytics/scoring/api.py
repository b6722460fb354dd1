"""API of the scoring models: /api/v1/analytics/scoring-models, scoring-fields and scores.

Everyone signed in reads models and previews (on the records they may see); administrators
create, change, activate and apply them.
"""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from kreis.analytics.scoring import engine, services
from kreis.analytics.scoring.models import (
    CriterionKind,
    ScoreRecord,
    ScoringModel,
    ScoringTarget,
    UtilityOption,
)
from kreis.core.api_support import PROBLEM_RESPONSES, IdValue, Input, ObjectId, Pagination
from kreis.leads.queries import lead_get_for_user
from kreis.parties.queries import party_get_for_user

router = Router(tags=["analytics"])

Target = Literal[tuple(ScoringTarget.values)]  # type: ignore[valid-type]
Kind = Literal[tuple(CriterionKind.values)]  # type: ignore[valid-type]
Number = Annotated[float, Field(allow_inf_nan=False)]
Points = Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)]
Thresholds = list[tuple[Number, Points]] | dict[Annotated[str, Field(max_length=200)], Points]
OptionValue = Annotated[str, Field(max_length=200)] | Number | None


class CriterionIn(Input):
    field: str = Field(
        "",
        max_length=100,
        description="A key of GET /analytics/scoring-fields; for options a free key "
        "(empty: made from the label).",
    )
    label: str = Field("", max_length=100, description="Empty: the field's name.")
    weight: Decimal = Field(Decimal(1), gt=0, max_digits=8, decimal_places=2)
    kind: Kind | None = Field(None, description="Empty: the field's kind (options: numeric).")
    thresholds: Thresholds = Field(
        description='numeric: [[min_value, points], …]; choice: {"value": points}'
    )


class ScoringModelIn(Input):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    target: Target
    max_points: int = Field(10, ge=1, le=1000)
    grades: list[tuple[Number, Annotated[str, Field(max_length=8)]]] | None = Field(
        None, description="[[minimum score, grade], …]; default A ≥ 75, B ≥ 50, C ≥ 25, D."
    )
    criteria: list[CriterionIn] = Field(min_length=1, max_length=engine.MAX_CRITERIA)


class ScoringModelPatch(Input):
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)
    max_points: int | None = Field(None, ge=1, le=1000)
    grades: list[tuple[Number, Annotated[str, Field(max_length=8)]]] | None = None
    criteria: list[CriterionIn] | None = Field(
        None, min_length=1, max_length=engine.MAX_CRITERIA, description="Replaces all criteria."
    )


class CriterionOut(Schema):
    id: int
    field: str
    label: str
    weight: float
    kind: str
    thresholds: Any


class ScoringModelOut(Schema):
    id: int
    name: str
    description: str
    target: str
    is_active: bool
    is_primary: bool
    max_points: int
    grades: list
    criteria: list[CriterionOut]
    created_at: dt.datetime
    updated_at: dt.datetime
    activated_at: dt.datetime | None
    applied_at: dt.datetime | None

    @staticmethod
    def resolve_criteria(obj) -> list:
        return list(obj.criteria.all())


class FieldOut(Schema):
    key: str
    label: str
    kind: str
    choices: list[str]
    group: str


class CellOut(Schema):
    criterion: int | str
    field: str
    value: Any
    points: float
    weighted: float | None = None


class PreviewRow(Schema):
    id: int
    name: str
    score: float
    grade: str
    cells: list[CellOut]


class GradeCount(Schema):
    grade: str
    count: int


class PreviewOut(Schema):
    rows: list[PreviewRow]
    distribution: list[GradeCount]


class AppliedOut(Schema):
    scored: int
    changed: int
    written: int


class OptionIn(Input):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    values: dict[Annotated[str, Field(max_length=100)], OptionValue] = Field(
        default_factory=dict, description="{criterion field: value}"
    )


class OptionPatch(Input):
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)
    values: dict[Annotated[str, Field(max_length=100)], OptionValue] | None = None


class OptionOut(Schema):
    id: int
    name: str
    description: str
    values: dict


class RankingRow(PreviewRow):
    rank: int
    is_winner: bool
    weighted_points: float


class RankingOut(Schema):
    max_weighted_points: float
    rows: list[RankingRow]


class ScoreRecordOut(Schema):
    id: int
    model_id: int
    model_name: str
    party_id: int | None
    lead_id: int | None
    score: float
    grade: str
    points: dict
    computed_at: dt.datetime

    @staticmethod
    def resolve_model_name(obj) -> str:
        return obj.model.name


def _model(pk: int) -> ScoringModel:
    return get_object_or_404(ScoringModel.objects.prefetch_related("criteria"), pk=pk)


def _criteria(items: list[CriterionIn]) -> list[dict]:
    return [item.model_dump() for item in items]


def _cells(rows: list[dict]) -> list[dict]:
    for row in rows:
        row["cells"] = [
            {**cell, "criterion": cell["criterion"].id, "field": cell["criterion"].field}
            for cell in row["cells"]
        ]
    return rows


@router.get(
    "/analytics/scoring-fields",
    response=list[FieldOut],
    summary="The fields a scoring model of this target can score",
)
def scoring_fields(request: HttpRequest, target: Target):
    return [
        {
            "key": f.key,
            "label": f.label,
            "kind": f.kind,
            "choices": list(f.choices),
            "group": f.group,
        }
        for f in engine.available_fields(target)
    ]


@router.get("/analytics/scoring-models", response=list[ScoringModelOut], summary="Scoring models")
@paginate(Pagination)
def scoring_model_list(request: HttpRequest, target: Target | None = None):
    qs = ScoringModel.objects.prefetch_related("criteria").order_by("target", "name", "pk")
    return qs.filter(target=target) if target else qs


@router.post(
    "/analytics/scoring-models",
    response={201: ScoringModelOut, **PROBLEM_RESPONSES},
    summary="Define a scoring model with its criteria (administrators; inactive at first)",
)
def scoring_model_create(request: HttpRequest, payload: ScoringModelIn):
    data = payload.model_dump()
    data["criteria"] = _criteria(payload.criteria)
    if data["grades"] is None:
        data.pop("grades")
    model = services.scoring_model_create(actor=request.auth, **data)
    return Status(201, _model(model.pk))


@router.get(
    "/analytics/scoring-models/{int:model_id}",
    response={200: ScoringModelOut, **PROBLEM_RESPONSES},
    summary="A scoring model",
)
def scoring_model_detail(request: HttpRequest, model_id: ObjectId):
    return _model(model_id)


@router.patch(
    "/analytics/scoring-models/{int:model_id}",
    response={200: ScoringModelOut, **PROBLEM_RESPONSES},
    summary="Change a scoring model (administrators; the target stays)",
)
def scoring_model_update(request: HttpRequest, model_id: ObjectId, payload: ScoringModelPatch):
    model = _model(model_id)
    changes = payload.model_dump(exclude_unset=True)
    if "criteria" in changes:
        if payload.criteria is None:
            raise ValidationError({"criteria": ["Give at least one criterion."]})
        changes["criteria"] = _criteria(payload.criteria)
    for name in ("name", "max_points", "grades"):
        if name in changes and changes[name] is None:
            raise ValidationError({name: ["May not be null."]})
    services.scoring_model_update(actor=request.auth, model=model, **changes)
    return _model(model.pk)


@router.delete(
    "/analytics/scoring-models/{int:model_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a scoring model with its score history (administrators)",
)
def scoring_model_delete(request: HttpRequest, model_id: ObjectId):
    services.scoring_model_delete(actor=request.auth, model=_model(model_id))
    return Status(204, None)


@router.get(
    "/analytics/scoring-models/{int:model_id}/preview",
    response={200: PreviewOut, **PROBLEM_RESPONSES},
    summary="Score a random sample of records you may see, storing nothing",
)
def scoring_model_preview(
    request: HttpRequest, model_id: ObjectId, n: Annotated[int, Query(ge=1, le=200)] = 20
):
    result = engine.preview(_model(model_id), n, user=request.auth)
    return {
        "rows": _cells(result["rows"]),
        "distribution": [{"grade": g, "count": c} for g, c in result["distribution"]],
    }


@router.post(
    "/analytics/scoring-models/{int:model_id}/activate",
    response={200: ScoringModelOut, **PROBLEM_RESPONSES},
    summary="Activate: the nightly run applies the model (administrators)",
)
def scoring_model_activate(request: HttpRequest, model_id: ObjectId):
    model = _model(model_id)
    services.scoring_model_set_active(actor=request.auth, model=model, active=True)
    return _model(model.pk)


@router.post(
    "/analytics/scoring-models/{int:model_id}/deactivate",
    response={200: ScoringModelOut, **PROBLEM_RESPONSES},
    summary="Deactivate (also ends primary and clears the shown scores; administrators)",
)
def scoring_model_deactivate(request: HttpRequest, model_id: ObjectId):
    model = _model(model_id)
    services.scoring_model_set_active(actor=request.auth, model=model, active=False)
    return _model(model.pk)


@router.post(
    "/analytics/scoring-models/{int:model_id}/primary",
    response={200: ScoringModelOut, **PROBLEM_RESPONSES},
    summary="Make the model the one whose grade customers or leads show; applied at once",
)
def scoring_model_primary(request: HttpRequest, model_id: ObjectId):
    model = _model(model_id)
    services.scoring_model_make_primary(actor=request.auth, model=model)
    return _model(model.pk)


@router.post(
    "/analytics/scoring-models/{int:model_id}/apply",
    response={200: AppliedOut, **PROBLEM_RESPONSES},
    summary="Apply the model now: store scores and history (administrators)",
)
def scoring_model_apply(request: HttpRequest, model_id: ObjectId):
    return services.scoring_model_apply(actor=request.auth, model=_model(model_id))


def _analysis(model_id: int) -> ScoringModel:
    model = _model(model_id)
    if not model.is_utility_analysis:
        raise ValidationError("Only utility-value analyses (target option) have options.")
    return model


@router.get(
    "/analytics/scoring-models/{int:model_id}/options",
    response={200: list[OptionOut], **PROBLEM_RESPONSES},
    summary="The options of a utility-value analysis",
)
def option_list(request: HttpRequest, model_id: ObjectId):
    return list(_analysis(model_id).options.all())


@router.post(
    "/analytics/scoring-models/{int:model_id}/options",
    response={201: OptionOut, **PROBLEM_RESPONSES},
    summary="Add an option (administrators)",
)
def option_create(request: HttpRequest, model_id: ObjectId, payload: OptionIn):
    option = services.utility_option_create(
        actor=request.auth, model=_analysis(model_id), **payload.model_dump()
    )
    return Status(201, option)


def _option(model_id: int, option_id: int) -> UtilityOption:
    return get_object_or_404(UtilityOption, pk=option_id, model=_analysis(model_id))


@router.patch(
    "/analytics/scoring-models/{int:model_id}/options/{int:option_id}",
    response={200: OptionOut, **PROBLEM_RESPONSES},
    summary="Change an option (administrators)",
)
def option_update(
    request: HttpRequest, model_id: ObjectId, option_id: ObjectId, payload: OptionPatch
):
    changes = payload.model_dump(exclude_unset=True)
    if changes.get("name", "") is None or "values" in changes and changes["values"] is None:
        raise ValidationError("Name and values may not be null.")
    if changes.get("description", "") is None:
        changes["description"] = ""
    return services.utility_option_update(
        actor=request.auth, option=_option(model_id, option_id), **changes
    )


@router.delete(
    "/analytics/scoring-models/{int:model_id}/options/{int:option_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete an option (administrators)",
)
def option_delete(request: HttpRequest, model_id: ObjectId, option_id: ObjectId):
    services.utility_option_delete(actor=request.auth, option=_option(model_id, option_id))
    return Status(204, None)


@router.get(
    "/analytics/scoring-models/{int:model_id}/ranking",
    response={200: RankingOut, **PROBLEM_RESPONSES},
    summary="The options ranked: weighted points per criterion, total, score, rank",
)
def option_ranking(request: HttpRequest, model_id: ObjectId):
    result = engine.ranking(_analysis(model_id))
    return {"max_weighted_points": result["max_weighted_points"], "rows": _cells(result["rows"])}


@router.get(
    "/analytics/scores",
    response={200: list[ScoreRecordOut], **PROBLEM_RESPONSES},
    summary="The score history of a party or a lead you may see (newest first)",
)
@paginate(Pagination)
def score_history(
    request: HttpRequest,
    party: IdValue | None = None,
    lead: IdValue | None = None,
    model: IdValue | None = None,
):
    if (party is None) == (lead is None):
        raise ValidationError({"party": ["Give either party or lead."]})
    records = ScoreRecord.objects.select_related("model").order_by("-computed_at", "-pk")
    if party is not None:
        records = records.filter(party=party_get_for_user(user=request.auth, pk=party))
    else:
        records = records.filter(lead=lead_get_for_user(user=request.auth, pk=lead))
    return records.filter(model_id=model) if model else records
