"""API routes of sales competencies: the catalogue, the skills matrix, a user's levels and
the CSV import."""

import datetime as dt
from typing import Annotated, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Max
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from kreis.core.api_support import (
    PROBLEM_RESPONSES,
    IdValue,
    Input,
    ObjectId,
    Pagination,
    check_if_match,
    etag,
    if_match_allows,
)
from kreis.core.competencies import queries, services
from kreis.core.competencies.models import Competency, CompetencyKind, UserCompetency
from kreis.core.models import Team, User

router = Router(tags=["competencies"])

KindName = Literal[tuple(CompetencyKind.values)]  # type: ignore[valid-type]
CompetencyName = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[^\x00]*$")]
Key = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00]*$")]
Text = Annotated[str, Field(max_length=5000, pattern=r"^[^\x00]*$")]
LevelValue = Annotated[int, Field(ge=1, le=4)]


class CompetencyOut(Schema):
    id: int
    kind: str
    key: str
    name: str
    description: str
    is_active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class CompetencyIn(Input):
    kind: KindName
    key: Key
    name: CompetencyName
    description: Text = ""
    is_active: bool = True


class CompetencyPatch(Input):
    kind: KindName | None = None
    key: Key | None = None
    name: CompetencyName | None = None
    description: Text | None = None
    is_active: bool | None = None


class UserLevelOut(Schema):
    competency_id: int
    level: int


class UserCompetenciesOut(Schema):
    user_id: int
    levels: list[UserLevelOut]


class UserLevelIn(Input):
    competency_id: IdValue
    level: LevelValue | None = Field(None, description="1 basic … 4 expert; null removes it")


class UserCompetenciesIn(Input):
    levels: list[UserLevelIn] = Field(max_length=500)


class MatrixRowOut(Schema):
    user_id: int
    name: str
    levels: dict[str, int]
    editable: bool


class MatrixOut(Schema):
    competencies: list[CompetencyOut]
    rows: list[MatrixRowOut]


class CompetencyImportIn(Input):
    csv: str = Field(
        max_length=2_000_000,
        description="Columns username,kind,key,name,level (an empty level removes it)",
    )
    dry_run: bool = False


class CompetencyImportOut(Schema):
    rows: int
    levels: int
    created_competencies: int
    errors: list[str]
    dry_run: bool


def _competency(request: HttpRequest, pk: int) -> Competency:
    if not request.auth.has_perm("core.view_competencies"):
        raise PermissionDenied
    found = Competency.objects.filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def _levels_etag(user: User) -> str:
    """The version of a user's levels: their number and the last change."""
    agg = UserCompetency.objects.filter(user=user).aggregate(n=Count("pk"), last=Max("updated_at"))
    last = agg["last"].timestamp() if agg["last"] else 0
    return f'"{user.pk}-{agg["n"]}-{last:.6f}"'


def _levels_out(user: User) -> dict:
    return {
        "user_id": user.pk,
        "levels": [
            {"competency_id": cid, "level": level}
            for cid, level in sorted(queries.user_levels(user=user).items())
        ],
    }


@router.get(
    "/competencies",
    response=list[CompetencyOut],
    summary="The catalogue of competencies (skills, languages, product categories)",
    operation_id="competency_list",
)
@paginate(Pagination)
def competency_list(request: HttpRequest, kind: KindName | None = None):
    if not request.auth.has_perm("core.view_competencies"):
        raise PermissionDenied
    return queries.competencies(kind=kind, active_only=False)


@router.post(
    "/competencies",
    response={201: CompetencyOut, **PROBLEM_RESPONSES},
    summary="Add a competency to the catalogue",
    operation_id="competency_create",
)
def competency_create(request: HttpRequest, payload: CompetencyIn, response: HttpResponse):
    competency = services.competency_save(
        actor=request.auth, competency=Competency(), values=payload.dict()
    )
    response["ETag"] = etag(competency)
    return Status(201, competency)


@router.get(
    "/competencies/matrix",
    response={200: MatrixOut, **PROBLEM_RESPONSES},
    summary="The skills matrix: users × competencies with each level",
    operation_id="competency_matrix",
)
def competency_matrix(
    request: HttpRequest, team_id: IdValue | None = None, kind: KindName | None = None
):
    if not request.auth.has_perm("core.view_competencies"):
        raise PermissionDenied
    team = None
    if team_id is not None:
        team = Team.objects.filter(pk=team_id).first()
        if team is None:
            raise ValidationError({"team_id": _("Not found.")})
    matrix = queries.skills_matrix(viewer=request.auth, team=team, kind=kind or "")
    return {
        "competencies": matrix.competencies,
        "rows": [
            {
                "user_id": row.user.pk,
                "name": row.user.get_full_name() or row.user.username,
                "levels": {
                    str(c.pk): level
                    for c, level in zip(matrix.competencies, row.levels, strict=True)
                    if level
                },
                "editable": row.editable,
            }
            for row in matrix.rows
        ],
    }


@router.post(
    "/competencies/import",
    response={200: CompetencyImportOut, **PROBLEM_RESPONSES},
    summary="Import levels from CSV (all or nothing; errors name the line)",
    operation_id="competency_import",
)
def competency_import(request: HttpRequest, payload: CompetencyImportIn):
    if not request.auth.has_perm("core.view_competencies"):
        raise PermissionDenied
    result = services.competencies_import(
        actor=request.auth, text=payload.csv, dry_run=payload.dry_run
    )
    if result.errors:
        raise ValidationError({"csv": result.errors[:50]})
    return {
        "rows": result.rows,
        "levels": result.levels,
        "created_competencies": result.created_competencies,
        "errors": [],
        "dry_run": payload.dry_run,
    }


@router.get(
    "/competencies/users/{user_id}",
    response={200: UserCompetenciesOut, **PROBLEM_RESPONSES},
    summary="A user's competency levels",
    operation_id="competency_user_detail",
)
def competency_user_detail(request: HttpRequest, user_id: ObjectId, response: HttpResponse):
    user = queries.user_get_for_competencies(viewer=request.auth, pk=user_id)
    response["ETag"] = _levels_etag(user)
    return _levels_out(user)


@router.patch(
    "/competencies/users/{user_id}",
    response={200: UserCompetenciesOut, **PROBLEM_RESPONSES},
    summary="Set some of a user's levels (those not named stay; a null level removes one)",
    operation_id="competency_user_update",
)
def competency_user_update(
    request: HttpRequest, user_id: ObjectId, payload: UserCompetenciesIn, response: HttpResponse
):
    user = queries.user_get_for_competencies(viewer=request.auth, pk=user_id)
    if not request.auth.has_perm("core.change_user_competencies", user):
        raise PermissionDenied
    wanted = request.headers.get("If-Match")
    if wanted is not None and not if_match_allows(wanted, _levels_etag(user)):
        raise HttpError(412, "The competencies were changed by someone else; fetch them again.")
    levels = {item.competency_id: item.level for item in payload.levels}
    services.user_competencies_set(actor=request.auth, user=user, levels=levels)
    response["ETag"] = _levels_etag(user)
    return _levels_out(user)


@router.get(
    "/competencies/{competency_id}",
    response={200: CompetencyOut, **PROBLEM_RESPONSES},
    summary="A competency",
    operation_id="competency_detail",
)
def competency_detail(request: HttpRequest, competency_id: ObjectId, response: HttpResponse):
    competency = _competency(request, competency_id)
    response["ETag"] = etag(competency)
    return competency


@router.patch(
    "/competencies/{competency_id}",
    response={200: CompetencyOut, **PROBLEM_RESPONSES},
    summary="Change a competency",
    operation_id="competency_update",
)
def competency_update(
    request: HttpRequest, competency_id: ObjectId, payload: CompetencyPatch, response: HttpResponse
):
    competency = _competency(request, competency_id)
    if not request.auth.has_perm("core.manage_competencies"):
        raise PermissionDenied
    check_if_match(request, competency)
    values = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    competency = services.competency_save(actor=request.auth, competency=competency, values=values)
    response["ETag"] = etag(competency)
    return competency


@router.delete(
    "/competencies/{competency_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a competency with everyone's level in it",
    operation_id="competency_delete",
)
def competency_delete(request: HttpRequest, competency_id: ObjectId):
    competency = _competency(request, competency_id)
    if not request.auth.has_perm("core.manage_competencies"):
        raise PermissionDenied
    check_if_match(request, competency)
    services.competency_delete(actor=request.auth, competency=competency)
    return Status(204, None)
