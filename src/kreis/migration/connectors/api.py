"""API routes for connectors (administrators only): CRUD and "run now"."""

from datetime import datetime
from typing import Annotated, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from kreis.core.api_support import PROBLEM_RESPONSES, IdValue, Input, ObjectId, Pagination
from kreis.core.models import User
from kreis.migration.connectors import queries, services
from kreis.migration.connectors.tasks import connector_enqueue
from kreis.migration.models import (
    Connector,
    ConnectorKind,
    DuplicateMode,
    ImportEntity,
)

router = Router(tags=["connectors"])

Kind = Literal[tuple(ConnectorKind.values)]  # type: ignore[valid-type]
Entity = Literal[tuple(ImportEntity.values)]  # type: ignore[valid-type]
Mode = Literal[tuple(DuplicateMode.values)]  # type: ignore[valid-type]
Hour = Annotated[int, Field(ge=0, le=23)]
Name = Annotated[str, Field(min_length=1, max_length=100)]
Location = Annotated[str, Field(min_length=1, max_length=500)]


class RunOut(Schema):
    at: datetime | None
    outcome: str
    imports: list[int] = Field(description="ids of the imports made (GET /imports/{id})")
    counts: dict[str, int]
    waiting: list[str] = Field(description="files skipped because they were still growing")
    error: str
    text: str


class ConnectorOut(Schema):
    id: int
    name: str
    kind: str
    location: str = Field(description="the folder or URL (a password in the URL shown as ***)")
    entity: str
    template_id: int | None
    duplicate_mode: str
    schedule_hour: int
    enabled: bool
    allow_private: bool
    move_done: bool
    run_as_id: int
    running: bool
    last_run_at: datetime | None
    last_status: str
    runs: list[RunOut]

    @staticmethod
    def resolve_location(obj: Connector) -> str:
        return services.location_label(obj)

    @staticmethod
    def resolve_running(obj: Connector) -> bool:
        return obj.running_since is not None

    @staticmethod
    def resolve_runs(obj: Connector) -> list[dict]:
        return [
            {
                **run,
                "at": parse_datetime(run["at"]),
                "imports": run.get("jobs", []),
                "text": services.describe(run),
            }
            for run in obj.state.get("runs", [])[:10]
        ]


class ConnectorIn(Input):
    name: Name
    kind: Kind
    location: Location
    entity: Entity = ImportEntity.TRANSACTION
    template_id: IdValue | None = None
    duplicate_mode: Mode = DuplicateMode.UPDATE
    schedule_hour: Hour = 2
    enabled: bool = True
    allow_private: bool = False
    move_done: bool = False
    run_as_id: IdValue | None = Field(None, description="the importing user; default: you")


class ConnectorPatch(Input):
    name: Name | None = None
    kind: Kind | None = None
    location: Location | None = None
    entity: Entity | None = None
    template_id: IdValue | None = None
    duplicate_mode: Mode | None = None
    schedule_hour: Hour | None = None
    enabled: bool | None = None
    allow_private: bool | None = None
    move_done: bool | None = None
    run_as_id: IdValue | None = None


def _fields(data: dict) -> dict:
    """Ids to objects: the template (one a connector may use) and the importing user."""
    fields = dict(data)
    if "template_id" in fields:
        pk = fields.pop("template_id")
        fields["template"] = None
        if pk is not None:
            fields["template"] = services.template_choices().filter(pk=pk).first()
            if fields["template"] is None:
                raise ValidationError({"template_id": _("No such mapping template.")})
    if "run_as_id" in fields:
        pk = fields.pop("run_as_id")
        fields["run_as"] = User.objects.filter(pk=pk).first()
        if fields["run_as"] is None:
            raise ValidationError({"run_as_id": _("No such user.")})
    return fields


@router.get("/connectors", response=list[ConnectorOut], summary="List connectors")
@paginate(Pagination)
def connector_list(request: HttpRequest):
    return queries.connector_list_for_user(user=request.auth)


@router.post(
    "/connectors", response={201: ConnectorOut, **PROBLEM_RESPONSES}, summary="Create a connector"
)
def connector_create(request: HttpRequest, payload: ConnectorIn):
    queries.connector_list_for_user(user=request.auth)  # administrators only
    data = payload.model_dump()
    if data["run_as_id"] is None:
        data["run_as_id"] = request.auth.pk
    connector = services.connector_create(actor=request.auth, **_fields(data))
    return Status(201, connector)


@router.get(
    "/connectors/{connector_id}",
    response={200: ConnectorOut, **PROBLEM_RESPONSES},
    summary="A connector with its last runs",
)
def connector_detail(request: HttpRequest, connector_id: ObjectId):
    return queries.connector_get_for_user(user=request.auth, pk=connector_id)


@router.patch(
    "/connectors/{connector_id}",
    response={200: ConnectorOut, **PROBLEM_RESPONSES},
    summary="Change a connector",
)
def connector_update(request: HttpRequest, connector_id: ObjectId, payload: ConnectorPatch):
    connector = queries.connector_get_for_user(user=request.auth, pk=connector_id)
    data = payload.model_dump(exclude_unset=True)
    for required in ("name", "kind", "location", "entity", "duplicate_mode", "run_as_id"):
        if required in data and data[required] is None:
            raise ValidationError({required: _("This field cannot be empty.")})
    return services.connector_update(actor=request.auth, connector=connector, **_fields(data))


@router.delete(
    "/connectors/{connector_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a connector (its imports stay)",
)
def connector_delete(request: HttpRequest, connector_id: ObjectId):
    connector = queries.connector_get_for_user(user=request.auth, pk=connector_id)
    services.connector_delete(actor=request.auth, connector=connector)
    return Status(204, None)


@router.post(
    "/connectors/{connector_id}/run",
    response={202: ConnectorOut, **PROBLEM_RESPONSES},
    summary="Run a connector now (in the job queue)",
)
def connector_run(request: HttpRequest, connector_id: ObjectId):
    connector = queries.connector_get_for_user(user=request.auth, pk=connector_id)
    connector_enqueue(actor=request.auth, connector=connector)
    return Status(202, queries.connector_get_for_user(user=request.auth, pk=connector_id))
