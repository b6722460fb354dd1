"""API routes for organisations, persons, employments and relationships."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status
from ninja.decorators import decorate_view
from ninja.pagination import paginate

from kreis.core.api_support import (
    MAX_BULK,
    PROBLEM_RESPONSES,
    IdValue,
    Input,
    ObjectId,
    Pagination,
    SearchText,
    check_if_match,
    etag,
    without_cycle_collection,
)
from kreis.core.queries import team_get_for_user, user_get_for_user
from kreis.parties import bulk, queries, services
from kreis.parties.models import (
    AddressKind,
    ClvMarginBasis,
    ContactKind,
    Employment,
    LifecyclePhase,
    Party,
    PartyKind,
    PartyRole,
    Relationship,
    RelationshipType,
    RfmSegment,
)

router = Router(tags=["parties"])

RoleName = Literal[tuple(PartyRole.values)]  # type: ignore[valid-type]
Sort = Literal[
    "name",
    "-name",
    "created",
    "-created",
    "updated",
    "-updated",
    "-clv",
    "clv",
    "-score",
    "-p_alive",
    "p_alive",
    "-revenue_12m",
    "-clv_next_12",
    "clv_next_12",
    "-last_nps",
    "last_nps",
    "-last_csat",
    "last_csat",
    "-last_loyalty",
    "last_loyalty",
]
AbcValue = Literal["A", "B", "C"]
SegmentValue = Literal[tuple(RfmSegment.values)]  # type: ignore[valid-type]
PhaseValue = Literal[tuple(LifecyclePhase.values)]  # type: ignore[valid-type]
BasisValue = Literal[tuple(ClvMarginBasis.values)]  # type: ignore[valid-type]
Amount = Annotated[Decimal, Field(ge=-(10**12), le=10**12, max_digits=15, decimal_places=2)]


class ContactIn(Input):
    value: str = Field(min_length=1, max_length=254)
    label: str = Field("", max_length=40)
    is_primary: bool = False


class ContactOut(Schema):
    value: str
    label: str
    is_primary: bool


class AddressIn(Input):
    kind: Literal[tuple(AddressKind.values)] = AddressKind.OFFICE  # type: ignore[valid-type]
    street: str = Field(min_length=1, max_length=200)
    postal_code: str = Field("", max_length=20)
    city: str = Field(min_length=1, max_length=100)
    region: str = Field("", max_length=100)
    country: str = Field("DE", pattern=r"^[A-Za-z]{2}$")
    is_primary: bool = False


class AddressOut(Schema):
    kind: str
    street: str
    postal_code: str
    city: str
    region: str
    country: str
    is_primary: bool


class EmploymentOut(Schema):
    id: int
    person_id: int
    organization_id: int
    position: str
    department: str
    is_primary_contact: bool


class FiguresOut(Schema):
    """Computed by the nightly analytics run; null until the first run."""

    abc_class: str
    rfm_recency: int | None
    rfm_frequency: int | None
    rfm_monetary: int | None
    rfm_segment: str
    revenue_12m: Decimal | None
    historical_value: Decimal | None
    clv: Decimal | None = Field(
        description="Total CLV: historical value + discounted residual over the CLV horizon."
    )
    clv_next_12_months: Decimal | None = Field(
        description="Discounted margin expected in the next 12 months."
    )
    clv_residual: Decimal | None = Field(
        description="Discounted margin expected over the CLV horizon (clv − historical_value)."
    )
    clv_margin_basis: str = Field(
        description="What the expected margin per purchase rests on: model (Gamma-Gamma), "
        "population (one purchase so far) or own_mean (own mean margin ≤ 0); '' without a CLV."
    )
    p_alive: float | None
    expected_purchases: float | None
    score: float | None
    grade: str
    lifecycle_phase: str
    lifecycle_reason: str
    lifecycle_since: date | None
    lifecycle_override: bool
    won_back_at: date | None
    figures_computed_at: datetime | None
    last_nps: int | None = Field(description="0–10 answer of the party's last survey with NPS.")
    last_csat: float | None = Field(description="Mean 1–5 rating of the party's last survey.")
    last_loyalty: float | None = Field(
        description="Loyalty index 0–100 of the party's last survey (four factors)."
    )
    last_survey_answered_at: datetime | None


class PartyOut(Schema):
    id: int
    name: str
    industry: str
    size: str
    source: str
    territory: str
    website: str
    vat_id: str
    iban: str
    notes: str
    external_id: str | None
    owner_id: int | None
    team_id: int | None
    roles: list[str]
    tags: list[str]
    emails: list[ContactOut]
    phones: list[ContactOut]
    socials: list[ContactOut]
    addresses: list[AddressOut]
    custom: dict[str, Any]
    purchasing_potential: Decimal | None
    termination_announced: bool
    contract_end: date | None
    figures: FiguresOut
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_figures(obj: Party) -> dict:
        value = getattr(obj, "customer_value", None)  # kept by the analytics run
        clv = {
            "clv_next_12_months": value.next_12_months if value else None,
            "clv_residual": value.residual if value else None,
            "clv_margin_basis": value.margin_basis if value else "",
        }
        return {
            name: clv[name] if name in clv else getattr(obj, name)
            for name in FiguresOut.model_fields
        }

    @staticmethod
    def resolve_roles(obj: Party) -> list[str]:
        return sorted(r.role for r in obj.role_assignments.all())

    @staticmethod
    def resolve_tags(obj: Party) -> list[str]:
        return sorted(t.name for t in obj.tags.all())

    @staticmethod
    def resolve_emails(obj: Party) -> list:
        return [c for c in obj.contact_points.all() if c.kind == ContactKind.EMAIL]

    @staticmethod
    def resolve_phones(obj: Party) -> list:
        return [c for c in obj.contact_points.all() if c.kind == ContactKind.PHONE]

    @staticmethod
    def resolve_socials(obj: Party) -> list:
        return [c for c in obj.contact_points.all() if c.kind == ContactKind.SOCIAL]

    @staticmethod
    def resolve_addresses(obj: Party) -> list:
        return list(obj.addresses.all())


class OrganizationOut(PartyOut):
    pass


class PersonOut(PartyOut):
    salutation: str
    first_name: str
    last_name: str
    employments: list[EmploymentOut]

    @staticmethod
    def resolve_employments(obj: Party) -> list:
        return list(obj.employments.all())


class PartyWrite(Input):
    industry: str | None = Field(None, max_length=100)
    size: Literal["", "1-9", "10-49", "50-249", "250-999", "1000+"] | None = None
    source: str | None = Field(None, max_length=100)
    territory: str | None = Field(None, max_length=100)
    website: str | None = Field(None, max_length=200)
    vat_id: str | None = Field(None, max_length=20)
    iban: str | None = Field(None, max_length=34)
    notes: str | None = Field(None, max_length=20000)
    external_id: str | None = Field(None, max_length=100)
    owner_id: IdValue | None = None
    team_id: IdValue | None = None
    roles: list[RoleName] | None = None
    tags: list[str] | None = Field(None, max_length=50)
    emails: list[ContactIn] | None = Field(None, max_length=20)
    phones: list[ContactIn] | None = Field(None, max_length=20)
    socials: list[ContactIn] | None = Field(None, max_length=20)
    addresses: list[AddressIn] | None = Field(None, max_length=20)
    custom: dict[str, Any] | None = None
    purchasing_potential: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    termination_announced: bool | None = None
    contract_end: date | None = None


class OrganizationCreate(PartyWrite):
    name: str = Field(min_length=1, max_length=200)


class OrganizationUpdate(PartyWrite):
    name: str | None = Field(None, min_length=1, max_length=200)


class PersonCreate(PartyWrite):
    salutation: str = Field("", max_length=40)
    first_name: str = Field("", max_length=100)
    last_name: str = Field(min_length=1, max_length=100)


class PersonUpdate(PartyWrite):
    salutation: str | None = Field(None, max_length=40)
    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, min_length=1, max_length=100)


def _write_args(request: HttpRequest, payload: Input) -> dict:
    data = payload.model_dump(exclude_unset=True)
    for key in ("emails", "phones", "socials", "addresses", "roles", "tags", "custom"):
        if data.get(key) is None:
            data.pop(key, None)
    if "owner_id" in data:
        owner_id = data.pop("owner_id")
        data["owner"] = user_get_for_user(user=request.auth, pk=owner_id) if owner_id else None
    if "team_id" in data:
        team_id = data.pop("team_id")
        data["team"] = team_get_for_user(user=request.auth, pk=team_id) if team_id else None
    nullable = {"owner", "team", "contract_end", "purchasing_potential"}
    return {k: v for k, v in data.items() if v is not None or k in nullable}


def _reload(request: HttpRequest, party: Party) -> Party:
    return queries.party_get_for_user(user=request.auth, pk=party.pk)


def _crud(kind: str, path: str, out, create_schema, update_schema) -> None:
    """The five routes of one kind of party."""
    label = "organisation" if kind == PartyKind.ORGANIZATION else "person"

    @router.get(path, response=list[out], summary=f"List {label}s", operation_id=f"{label}_list")
    @paginate(Pagination)
    def list_(
        request: HttpRequest,
        q: SearchText = "",
        role: RoleName | None = None,
        tag: SearchText = "",
        owner_id: IdValue | None = None,
        team_id: IdValue | None = None,
        sort: Sort = "name",
        abc_class: AbcValue | None = None,
        rfm_segment: SegmentValue | None = None,
        lifecycle_phase: PhaseValue | None = None,
        clv_min: Amount | None = None,
        clv_max: Amount | None = None,
        clv_next_12_min: Amount | None = None,
        clv_next_12_max: Amount | None = None,
        clv_basis: BasisValue | None = None,
        nps_min: Annotated[int, Field(ge=0, le=10)] | None = None,
        nps_max: Annotated[int, Field(ge=0, le=10)] | None = None,
        csat_min: Annotated[float, Field(ge=1, le=5)] | None = None,
        csat_max: Annotated[float, Field(ge=1, le=5)] | None = None,
        loyalty_min: Annotated[float, Field(ge=0, le=100)] | None = None,
        loyalty_max: Annotated[float, Field(ge=0, le=100)] | None = None,
    ):
        figures = {
            "abc_class": abc_class,
            "rfm_segment": rfm_segment,
            "lifecycle_phase": lifecycle_phase,
            "clv_min": clv_min,
            "clv_max": clv_max,
            "clv_next_12_min": clv_next_12_min,
            "clv_next_12_max": clv_next_12_max,
            "clv_basis": clv_basis,
            "nps_min": nps_min,
            "nps_max": nps_max,
            "csat_min": csat_min,
            "csat_max": csat_max,
            "loyalty_min": loyalty_min,
            "loyalty_max": loyalty_max,
        }
        return queries.party_list_for_user(
            figures={k: v for k, v in figures.items() if v is not None and v != ""},
            user=request.auth,
            kind=kind,
            search=q,
            role=role or "",
            tag=tag,
            owner_id=owner_id,
            team_id=team_id,
            sort=sort,
            custom=request.GET,
        )

    @router.post(
        path,
        response={201: out, **PROBLEM_RESPONSES},
        summary=f"Create a {label}",
        operation_id=f"{label}_create",
    )
    def create(request: HttpRequest, payload: create_schema):
        party = services.party_create(
            actor=request.auth, kind=kind, **_write_args(request, payload)
        )
        return Status(201, _reload(request, party))

    @router.get(
        f"{path}/{{int:party_id}}",
        response={200: out, **PROBLEM_RESPONSES},
        summary=f"A {label}",
        operation_id=f"{label}_detail",
    )
    def detail(request: HttpRequest, party_id: ObjectId, response: HttpResponse):
        party = queries.party_get_for_user(user=request.auth, pk=party_id, kind=kind)
        response["ETag"] = etag(party)
        return party

    @router.patch(
        f"{path}/{{int:party_id}}",
        response={200: out, **PROBLEM_RESPONSES},
        summary=f"Change a {label} (lists given replace the old ones)",
        operation_id=f"{label}_update",
    )
    def update(
        request: HttpRequest, party_id: ObjectId, payload: update_schema, response: HttpResponse
    ):
        party = queries.party_get_for_user(user=request.auth, pk=party_id, write=True, kind=kind)
        check_if_match(request, party)
        services.party_update(actor=request.auth, party=party, **_write_args(request, payload))
        party = _reload(request, party)
        response["ETag"] = etag(party)
        return party

    @router.delete(
        f"{path}/{{int:party_id}}",
        response={204: None, **PROBLEM_RESPONSES},
        summary=f"Delete a {label} (soft; restorable)",
        operation_id=f"{label}_delete",
    )
    def delete(request: HttpRequest, party_id: ObjectId):
        party = queries.party_get_for_user(user=request.auth, pk=party_id, write=True, kind=kind)
        check_if_match(request, party)
        services.party_delete(actor=request.auth, party=party)
        return Status(204, None)


_crud(
    PartyKind.ORGANIZATION,
    "/organizations",
    OrganizationOut,
    OrganizationCreate,
    OrganizationUpdate,
)
_crud(PartyKind.PERSON, "/persons", PersonOut, PersonCreate, PersonUpdate)


class EmploymentIn(Input):
    person_id: IdValue
    organization_id: IdValue
    position: str = Field("", max_length=120)
    department: str = Field("", max_length=120)
    is_primary_contact: bool = False


@router.post(
    "/employments",
    response={201: EmploymentOut, **PROBLEM_RESPONSES},
    summary="Link a person to an organisation",
)
def employment_create(request: HttpRequest, payload: EmploymentIn):
    data = payload.model_dump()
    person = queries.party_get_for_user(user=request.auth, pk=data.pop("person_id"), write=True)
    organization = queries.party_get_for_user(user=request.auth, pk=data.pop("organization_id"))
    return Status(
        201,
        services.employment_set(
            actor=request.auth, person=person, organization=organization, **data
        ),
    )


@router.delete(
    "/employments/{employment_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Unlink a person from an organisation",
)
def employment_delete(request: HttpRequest, employment_id: ObjectId):
    employment = Employment.objects.filter(pk=employment_id).first()
    if employment is None:
        raise Http404
    queries.party_get_for_user(user=request.auth, pk=employment.person_id, write=True)
    services.employment_remove(actor=request.auth, employment=employment)
    return Status(204, None)


class RelationshipIn(Input):
    source_id: IdValue
    target_id: IdValue
    type: Literal[tuple(RelationshipType.values)]  # type: ignore[valid-type]
    note: str = Field("", max_length=200)


class RelationshipOut(Schema):
    id: int
    source_id: int
    target_id: int
    type: str
    note: str
    created_at: datetime


@router.get("/relationships", response=list[RelationshipOut], summary="Relationships of a party")
@paginate(Pagination)
def relationship_list(request: HttpRequest, party_id: IdValue):
    party = queries.party_get_for_user(user=request.auth, pk=party_id)
    return queries.party_relationships(party=party, user=request.auth)


@router.post(
    "/relationships",
    response={201: RelationshipOut, **PROBLEM_RESPONSES},
    summary="Relate two parties",
)
def relationship_create(request: HttpRequest, payload: RelationshipIn):
    source = queries.party_get_for_user(user=request.auth, pk=payload.source_id, write=True)
    target = queries.party_get_for_user(user=request.auth, pk=payload.target_id)
    return Status(
        201,
        services.relationship_add(
            actor=request.auth, source=source, target=target, type=payload.type, note=payload.note
        ),
    )


@router.delete(
    "/relationships/{relationship_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Remove a relationship",
)
def relationship_delete(request: HttpRequest, relationship_id: ObjectId):
    relationship = Relationship.objects.filter(pk=relationship_id).first()
    if relationship is None:
        raise Http404
    queries.party_get_for_user(user=request.auth, pk=relationship.source_id, write=True)
    services.relationship_remove(actor=request.auth, relationship=relationship)
    return Status(204, None)


# --- bulk creation ---------------------------------------------------------------------


class OrganizationBulk(Input):
    items: list[OrganizationCreate] = Field(min_length=1, max_length=MAX_BULK)


class PersonBulkItem(PersonCreate):
    organization_id: IdValue | None = None
    organization_external_id: str | None = Field(None, max_length=100)
    position: str = Field("", max_length=120)


class PersonBulk(Input):
    items: list[PersonBulkItem] = Field(min_length=1, max_length=MAX_BULK)


class BulkCreated(Schema):
    created: int
    ids: list[int]


def _bulk_rows(request: HttpRequest, items: list) -> tuple[list[dict], list[bulk.RowError]]:
    """The items as rows of ``parties_bulk_create_all_or_nothing``: owners and teams looked
    up once per distinct id (one the user may not name fails its rows, as before)."""
    users: dict[int, Any] = {}
    teams: dict[int, Any] = {}

    def lookup(cache: dict, find, pk: int):
        if pk not in cache:
            try:
                cache[pk] = find(user=request.auth, pk=pk)
            except Http404:
                cache[pk] = None
        return cache[pk]

    rows, failed = [], []
    for index, item in enumerate(items):
        data = item.model_dump(exclude_unset=True)
        for key in ("emails", "phones", "socials", "addresses", "roles", "tags", "custom"):
            if data.get(key) is None:
                data.pop(key, None)
        for key, cache, find in (
            ("owner", users, user_get_for_user),
            ("team", teams, team_get_for_user),
        ):
            if f"{key}_id" in data:
                pk = data.pop(f"{key}_id")
                data[key] = lookup(cache, find, pk) if pk else None
                if pk and data[key] is None:
                    failed.append(bulk.RowError(index, "", bulk.NOT_FOUND))
        nullable = {"owner", "team", "contract_end", "purchasing_potential"}
        rows.append({k: v for k, v in data.items() if v is not None or k in nullable})
    return rows, failed


@router.post(
    "/organizations/bulk",
    response={201: BulkCreated, **PROBLEM_RESPONSES},
    summary="Create up to 1,000 organisations at once (all or nothing; errors name the row)",
)
@decorate_view(without_cycle_collection)
def organization_bulk(request: HttpRequest, payload: OrganizationBulk):
    rows, failed = _bulk_rows(request, payload.items)
    ids = bulk.parties_bulk_create_all_or_nothing(
        actor=request.auth, rows=rows, kind=PartyKind.ORGANIZATION, failed=failed
    )
    return Status(201, {"created": len(ids), "ids": ids})


@router.post(
    "/persons/bulk",
    response={201: BulkCreated, **PROBLEM_RESPONSES},
    summary="Create up to 1,000 persons at once, optionally working for an organisation "
    "given by id or external_id (all or nothing; errors name the row)",
)
@decorate_view(without_cycle_collection)
def person_bulk(request: HttpRequest, payload: PersonBulk):
    rows, failed = _bulk_rows(request, payload.items)
    ids = bulk.parties_bulk_create_all_or_nothing(
        actor=request.auth, rows=rows, kind=PartyKind.PERSON, failed=failed
    )
    return Status(201, {"created": len(ids), "ids": ids})


# --- duplicates and merging ------------------------------------------------------------


class DuplicateOut(Schema):
    id: int
    name: str
    reason: str


class DuplicatesOut(Schema):
    duplicates: list[DuplicateOut]
    hidden_count: int


@router.get(
    "/parties/duplicates",
    response={200: DuplicatesOut, **PROBLEM_RESPONSES},
    summary="Likely duplicates of a party about to be created",
)
def party_duplicates(
    request: HttpRequest,
    kind: Literal["organization", "person"],
    name: SearchText = "",
    email: SearchText = "",
    phone: SearchText = "",
):
    found = queries.likely_duplicates(
        user=request.auth,
        kind=kind,
        name=name,
        emails=[email] if email else [],
        phones=[phone] if phone else [],
    )
    return {
        "duplicates": [
            {"id": p.pk, "name": p.name, "reason": reason} for p, reason in found.visible
        ],
        "hidden_count": found.hidden_count,
    }


class MergeIn(Input):
    other_id: IdValue
    take_from_other: list[Literal[tuple(services.MERGE_FIELDS)]] = Field(  # type: ignore[valid-type]
        default_factory=list, max_length=len(services.MERGE_FIELDS)
    )


class MergeOut(Schema):
    id: int
    survivor_id: int
    merged_id: int
    moved: dict[str, list[int]]
    performed_at: datetime
    undone_at: datetime | None


@router.post(
    "/parties/{party_id}/merge",
    response={201: MergeOut, **PROBLEM_RESPONSES},
    summary="Merge another party into this one (fields in take_from_other take its value)",
    description="`If-Match` takes the surviving party's ETag; the answer carries its new one.",
)
def party_merge(request: HttpRequest, party_id: ObjectId, payload: MergeIn, response: HttpResponse):
    survivor = queries.party_get_for_user(user=request.auth, pk=party_id, write=True)
    check_if_match(request, survivor)
    merged = queries.party_get_for_user(user=request.auth, pk=payload.other_id, write=True)
    merge = services.party_merge(
        actor=request.auth,
        survivor=survivor,
        merged=merged,
        take_from_merged=payload.take_from_other,
    )
    survivor.refresh_from_db(fields=["updated_at"])
    response["ETag"] = etag(survivor)
    return Status(201, merge)


class MergeUndoOut(MergeOut):
    # Survivor fields edited after the merge keep their new value; moved records pointed at
    # another party (or deleted) since stay where they are.
    kept_fields: list[str]
    kept_rows: int


@router.post(
    "/party-merges/{merge_id}/undo",
    response={200: MergeUndoOut, **PROBLEM_RESPONSES},
    summary="Undo a merge: the merged party and everything that moved come back "
    "(edits made since the merge are kept and named)",
    description="`If-Match` takes the surviving party's ETag; the answer carries its new one.",
)
def party_merge_undo(request: HttpRequest, merge_id: ObjectId, response: HttpResponse):
    merge = queries.party_merge_get_for_user(user=request.auth, pk=merge_id)
    # The undo changes the survivor (fields back, records away): its version is the
    # precondition, as for every other change of the party.
    check_if_match(request, merge.survivor)
    undone = services.party_merge_undo(actor=request.auth, merge=merge)
    merge.survivor.refresh_from_db(fields=["updated_at"])
    response["ETag"] = etag(merge.survivor)
    merge.refresh_from_db()
    merge.kept_fields = list(undone.kept_fields)  # type: ignore[attr-defined]
    merge.kept_rows = undone.kept_rows  # type: ignore[attr-defined]
    return merge
