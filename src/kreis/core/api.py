"""API routes for the signed-in user, users, teams, roles, API keys and notifications."""

from datetime import datetime
from typing import Annotated, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from kreis.core import queries, services
from kreis.core.api_support import (
    MAX_BULK,
    PROBLEM_RESPONSES,
    IdValue,
    Input,
    ObjectId,
    Pagination,
    SearchText,
    bulk_create_all_or_nothing,
)
from kreis.core.models import ROLE_DESCRIPTIONS, ApiKeyScope, CustomFieldType, Role
from kreis.core.search import search_index

router = Router(tags=["core"])

RoleName = Literal[tuple(Role.values)]  # type: ignore[valid-type]
LanguageCode = Literal["", "de", "en"]


class TeamRef(Schema):
    id: int
    name: str
    is_manager: bool


class UserOut(Schema):
    id: int
    username: str
    email: str | None = Field(description="null unless you are an administrator or this user")
    first_name: str
    last_name: str
    job_title: str
    phone: str | None = Field(description="null unless you are an administrator or this user")
    role: str
    language: str
    is_active: bool
    teams: list[TeamRef]

    @staticmethod
    def resolve_email(obj, context) -> str | None:
        viewer = context["request"].auth
        return obj.email if queries.user_contact_visible(viewer=viewer, user=obj) else None

    @staticmethod
    def resolve_phone(obj, context) -> str | None:
        viewer = context["request"].auth
        return obj.phone if queries.user_contact_visible(viewer=viewer, user=obj) else None

    @staticmethod
    def resolve_teams(obj) -> list[dict]:
        return [
            {"id": m.team_id, "name": m.team.name, "is_manager": m.is_manager}
            for m in obj.memberships.all()
        ]


class UserCreate(Input):
    username: str = Field(min_length=1, max_length=150, pattern=r"^[\w.@+-]+$")
    password: str | None = Field(None, max_length=128)
    role: RoleName = Role.SALES_REP
    email: str = Field("", max_length=254)
    first_name: str = Field("", max_length=150)
    last_name: str = Field("", max_length=150)
    job_title: str = Field("", max_length=120)
    phone: str = Field("", max_length=40)
    language: LanguageCode = ""
    team_ids: list[IdValue] = []


class UserUpdate(Input):
    email: str | None = Field(None, max_length=254)
    first_name: str | None = Field(None, max_length=150)
    last_name: str | None = Field(None, max_length=150)
    job_title: str | None = Field(None, max_length=120)
    phone: str | None = Field(None, max_length=40)
    role: RoleName | None = None
    language: LanguageCode | None = None
    is_active: bool | None = None
    team_ids: list[IdValue] | None = None


class ProfileUpdate(Input):
    first_name: str | None = Field(None, max_length=150)
    last_name: str | None = Field(None, max_length=150)
    job_title: str | None = Field(None, max_length=120)
    phone: str | None = Field(None, max_length=40)
    language: LanguageCode | None = None


class MemberOut(Schema):
    user_id: int
    username: str
    name: str
    is_manager: bool


class TeamOut(Schema):
    id: int
    name: str
    description: str
    created_at: datetime
    updated_at: datetime


class TeamDetail(TeamOut):
    members: list[MemberOut]


class TeamIn(Input):
    name: str = Field(min_length=1, max_length=120)
    description: str = Field("", max_length=5000)


class MemberIn(Input):
    is_manager: bool = False


class RoleOut(Schema):
    name: str
    label: str
    description: str


class ApiKeyOut(Schema):
    id: int
    name: str
    prefix: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself. It is shown only this once.")


class ApiKeyIn(Input):
    name: str = Field(min_length=1, max_length=100)
    scope: Literal["read", "read_write"] = ApiKeyScope.READ


class NotificationOut(Schema):
    id: int
    level: str
    title: str
    body: str
    url: str
    created_at: datetime
    read_at: datetime | None


def _fields(payload: Input) -> dict:
    return payload.model_dump(exclude_unset=True, exclude_none=True)


def _team_detail(team) -> dict:
    return {
        **{f: getattr(team, f) for f in ("id", "name", "description", "created_at", "updated_at")},
        "members": [
            {
                "user_id": m.user_id,
                "username": m.user.username,
                "name": str(m.user),
                "is_manager": m.is_manager,
            }
            for m in queries.team_memberships(team=team)
        ],
    }


# --- The signed-in user ---------------------------------------------------------------------
@router.get("/me", response=UserOut, summary="The signed-in user")
def me(request: HttpRequest):
    return queries.user_list_for_user(user=request.auth).get(pk=request.auth.pk)


@router.patch("/me", response={200: UserOut, **PROBLEM_RESPONSES}, summary="Change own profile")
def me_update(request: HttpRequest, payload: ProfileUpdate):
    services.user_update_profile(user=request.auth, **_fields(payload))
    return queries.user_list_for_user(user=request.auth).get(pk=request.auth.pk)


# --- Users and roles ------------------------------------------------------------------------
@router.get("/users", response=list[UserOut], summary="List users")
@paginate(Pagination)
def user_list(request: HttpRequest, q: SearchText = "", include_inactive: bool = False):
    return queries.user_list_for_user(
        user=request.auth, search=q, include_inactive=include_inactive
    )


@router.post("/users", response={201: UserOut, **PROBLEM_RESPONSES}, summary="Create a user")
def user_create(request: HttpRequest, payload: UserCreate):
    user = services.user_create(actor=request.auth, **payload.model_dump())
    return Status(201, queries.user_list_for_user(user=request.auth).get(pk=user.pk))


@router.get("/users/{user_id}", response={200: UserOut, **PROBLEM_RESPONSES}, summary="A user")
def user_detail(request: HttpRequest, user_id: ObjectId):
    user = queries.user_get_for_user(user=request.auth, pk=user_id)
    return queries.user_list_for_user(user=request.auth, include_inactive=True).get(pk=user.pk)


@router.patch(
    "/users/{user_id}", response={200: UserOut, **PROBLEM_RESPONSES}, summary="Change a user"
)
def user_update(request: HttpRequest, user_id: ObjectId, payload: UserUpdate):
    user = queries.user_get_for_user(user=request.auth, pk=user_id, write=True)
    services.user_update(actor=request.auth, user=user, **_fields(payload))
    return queries.user_list_for_user(user=request.auth, include_inactive=True).get(pk=user.pk)


@router.get("/roles", response=list[RoleOut], summary="The roles and what they may do")
def role_list(request: HttpRequest):
    return [
        {"name": role.value, "label": str(role.label), "description": str(ROLE_DESCRIPTIONS[role])}
        for role in Role
    ]


# --- Teams ----------------------------------------------------------------------------------
@router.get("/teams", response=list[TeamOut], summary="List teams")
@paginate(Pagination)
def team_list(request: HttpRequest, q: SearchText = ""):
    return queries.team_list_for_user(user=request.auth, search=q)


@router.post("/teams", response={201: TeamDetail, **PROBLEM_RESPONSES}, summary="Create a team")
def team_create(request: HttpRequest, payload: TeamIn):
    return Status(
        201, _team_detail(services.team_create(actor=request.auth, **payload.model_dump()))
    )


@router.get("/teams/{team_id}", response={200: TeamDetail, **PROBLEM_RESPONSES}, summary="A team")
def team_detail(request: HttpRequest, team_id: ObjectId):
    return _team_detail(queries.team_get_for_user(user=request.auth, pk=team_id))


@router.put(
    "/teams/{team_id}", response={200: TeamDetail, **PROBLEM_RESPONSES}, summary="Change a team"
)
def team_update(request: HttpRequest, team_id: ObjectId, payload: TeamIn):
    team = queries.team_get_for_user(user=request.auth, pk=team_id, write=True)
    return _team_detail(services.team_update(actor=request.auth, team=team, **payload.model_dump()))


@router.delete(
    "/teams/{team_id}", response={204: None, **PROBLEM_RESPONSES}, summary="Delete a team"
)
def team_delete(request: HttpRequest, team_id: ObjectId):
    team = queries.team_get_for_user(user=request.auth, pk=team_id, write=True)
    services.team_delete(actor=request.auth, team=team)
    return Status(204, None)


@router.put(
    "/teams/{team_id}/members/{user_id}",
    response={200: TeamDetail, **PROBLEM_RESPONSES},
    summary="Add a member or change whether they manage the team",
)
def team_member_set(request: HttpRequest, team_id: ObjectId, user_id: ObjectId, payload: MemberIn):
    team = queries.team_get_for_user(user=request.auth, pk=team_id, write=True)
    member = queries.user_get_for_user(user=request.auth, pk=user_id)
    services.team_set_member(
        actor=request.auth, team=team, user=member, is_manager=payload.is_manager
    )
    return _team_detail(team)


@router.delete(
    "/teams/{team_id}/members/{user_id}",
    response={200: TeamDetail, **PROBLEM_RESPONSES},
    summary="Remove a member",
)
def team_member_remove(request: HttpRequest, team_id: ObjectId, user_id: ObjectId):
    team = queries.team_get_for_user(user=request.auth, pk=team_id, write=True)
    member = queries.user_get_for_user(user=request.auth, pk=user_id)
    services.team_remove_member(actor=request.auth, team=team, user=member)
    return _team_detail(team)


# --- API keys -------------------------------------------------------------------------------
@router.get("/api-keys", response=list[ApiKeyOut], summary="Own API keys")
@paginate(Pagination)
def apikey_list(request: HttpRequest):
    return queries.apikey_list_for_user(user=request.auth)


@router.post(
    "/api-keys", response={201: ApiKeyCreated, **PROBLEM_RESPONSES}, summary="Create an API key"
)
def apikey_create(request: HttpRequest, payload: ApiKeyIn):
    key, raw = services.apikey_create(
        actor=request.auth, user=request.auth, name=payload.name, scope=payload.scope
    )
    return Status(201, {**ApiKeyOut.model_validate(key).model_dump(), "key": raw})


@router.delete(
    "/api-keys/{key_id}",
    response={200: ApiKeyOut, **PROBLEM_RESPONSES},
    summary="Revoke an API key",
)
def apikey_revoke(request: HttpRequest, key_id: ObjectId):
    key = queries.apikey_get_for_user(user=request.auth, pk=key_id)
    return services.apikey_revoke(actor=request.auth, key=key)


# --- Notifications --------------------------------------------------------------------------
@router.get("/notifications", response=list[NotificationOut], summary="Own notifications")
@paginate(Pagination)
def notification_list(request: HttpRequest, unread: bool = False):
    return queries.notification_list_for_user(user=request.auth, unread_only=unread)


@router.post(
    "/notifications/{notification_id}/read",
    response={200: NotificationOut, **PROBLEM_RESPONSES},
    summary="Mark a notification as read",
)
def notification_read(request: HttpRequest, notification_id: ObjectId):
    notification = queries.notification_get_for_user(user=request.auth, pk=notification_id)
    services.notification_mark_read(user=request.auth, notification=notification)
    notification.refresh_from_db()
    return notification


class MarkedRead(Schema):
    marked_read: int


@router.post("/notifications/read-all", response=MarkedRead, summary="Mark all as read")
def notification_read_all(request: HttpRequest):
    return {"marked_read": services.notification_mark_read(user=request.auth)}


Entity = Literal["party", "lead", "deal"]
FieldType = Literal[tuple(CustomFieldType.values)]  # type: ignore[valid-type]


class CustomFieldOut(Schema):
    id: int
    entity: str
    key: str
    label: str
    type: str
    choices: list[str]
    required: bool
    help_text: str
    position: int
    is_active: bool


class CustomFieldIn(Input):
    entity: Entity
    key: str = Field(min_length=1, max_length=50, pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1, max_length=100)
    type: FieldType
    choices: list[str] = Field(default_factory=list, max_length=200)
    required: bool = False
    help_text: str = Field("", max_length=200)
    position: int = Field(0, ge=0, le=999)
    is_active: bool = True


class CustomFieldPatch(Input):
    label: str | None = Field(None, min_length=1, max_length=100)
    choices: list[str] | None = Field(None, max_length=200)
    required: bool | None = None
    help_text: str | None = Field(None, max_length=200)
    position: int | None = Field(None, ge=0, le=999)
    is_active: bool | None = None


@router.get("/custom-fields", response=list[CustomFieldOut], summary="Custom field definitions")
@paginate(Pagination)
def custom_field_list(request: HttpRequest, entity: Entity | None = None):
    return queries.custom_field_list(entity=entity or "")


@router.post(
    "/custom-fields",
    response={201: CustomFieldOut, **PROBLEM_RESPONSES},
    summary="Add a custom field (administrators)",
)
def custom_field_create(request: HttpRequest, payload: CustomFieldIn):
    return Status(201, services.custom_field_create(actor=request.auth, **payload.model_dump()))


class CustomFieldBulk(Input):
    items: list[CustomFieldIn] = Field(min_length=1, max_length=MAX_BULK)


class CustomFieldsCreated(Schema):
    created: int
    ids: list[int]


@router.post(
    "/custom-fields/bulk",
    response={201: CustomFieldsCreated, **PROBLEM_RESPONSES},
    summary="Add up to 1,000 custom fields at once (administrators; all or nothing)",
)
def custom_field_bulk(request: HttpRequest, payload: CustomFieldBulk):
    fields = bulk_create_all_or_nothing(
        payload.items,
        lambda item: services.custom_field_create(actor=request.auth, **item.model_dump()),
    )
    return Status(201, {"created": len(fields), "ids": [f.pk for f in fields]})


@router.get(
    "/custom-fields/{int:field_id}",
    response={200: CustomFieldOut, **PROBLEM_RESPONSES},
    summary="A custom field",
)
def custom_field_detail(request: HttpRequest, field_id: ObjectId):
    return queries.custom_field_get_for_user(user=request.auth, pk=field_id)


@router.patch(
    "/custom-fields/{int:field_id}",
    response={200: CustomFieldOut, **PROBLEM_RESPONSES},
    summary="Change a custom field (administrators; key, record type and type stay)",
)
def custom_field_update(request: HttpRequest, field_id: ObjectId, payload: CustomFieldPatch):
    field = queries.custom_field_get_for_user(user=request.auth, pk=field_id, write=True)
    changes = payload.model_dump(exclude_unset=True)
    return services.custom_field_update(actor=request.auth, field=field, **changes)


@router.delete(
    "/custom-fields/{int:field_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Deactivate a custom field (its values are kept)",
)
def custom_field_delete(request: HttpRequest, field_id: ObjectId):
    field = queries.custom_field_get_for_user(user=request.auth, pk=field_id, write=True)
    services.custom_field_delete(actor=request.auth, field=field)
    return Status(204, None)


class SearchHitOut(Schema):
    entity: str
    id: int
    title: str
    subtitle: str
    url: str
    score: float


@router.get(
    "/search",
    response={200: list[SearchHitOut], **PROBLEM_RESPONSES},
    summary="Search parties, leads and deals (tolerates small typos and umlaut spellings)",
)
def search(
    request: HttpRequest,
    q: Annotated[str, Field(min_length=2, max_length=100, pattern=r"^[^\x00]*$")],
    entity: Literal["party", "lead", "deal"] | None = None,
    limit: Annotated[int, Field(ge=1, le=50)] = 20,
):
    hits = search_index(
        user=request.auth, text=q, limit=limit, entities=[entity] if entity else None
    )
    return [
        {
            "entity": h.entity,
            "id": h.object_id,
            "title": h.title,
            "subtitle": h.subtitle,
            "url": h.url,
            "score": h.score,
        }
        for h in hits
    ]
