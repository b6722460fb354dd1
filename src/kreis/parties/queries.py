"""Reads of parties, permission-aware: UI and API fetch through these."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from kreis.core.customfields import filter_by_custom
from kreis.core.models import SearchEntry, User
from kreis.core.queries import visible_records
from kreis.core.search import fold
from kreis.parties.models import (
    Address,
    ContactKind,
    ContactPoint,
    Employment,
    Party,
    PartyKind,
    PartyMerge,
    PartyRoleAssignment,
    Relationship,
    Tag,
)
from kreis.parties.normalize import normalize_email, normalize_phone

SORTS = {
    "name": ("name", "pk"),
    "-name": ("-name", "-pk"),
    "created": ("created_at", "pk"),
    "-created": ("-created_at", "-pk"),
    "updated": ("updated_at", "pk"),
    "-updated": ("-updated_at", "-pk"),
    # Computed figures (kreis.analytics): parties without a figure come last either way.
    "-clv": (F("clv").desc(nulls_last=True), "-pk"),
    "clv": (F("clv").asc(nulls_last=True), "pk"),
    "-score": (F("score").desc(nulls_last=True), "-pk"),
    "-p_alive": (F("p_alive").desc(nulls_last=True), "-pk"),
    "p_alive": (F("p_alive").asc(nulls_last=True), "pk"),
    "-revenue_12m": (F("revenue_12m").desc(nulls_last=True), "-pk"),
    # The CLV of the next 12 months is kept by the analytics beside the total (``clv``).
    "-clv_next_12": (F("customer_value__next_12_months").desc(nulls_last=True), "-pk"),
    "clv_next_12": (F("customer_value__next_12_months").asc(nulls_last=True), "pk"),
    # The last survey answer's scores (kreis.feedback).
    "-last_nps": (F("last_nps").desc(nulls_last=True), "-pk"),
    "last_nps": (F("last_nps").asc(nulls_last=True), "pk"),
    "-last_csat": (F("last_csat").desc(nulls_last=True), "-pk"),
    "last_csat": (F("last_csat").asc(nulls_last=True), "pk"),
    "-last_loyalty": (F("last_loyalty").desc(nulls_last=True), "-pk"),
    "last_loyalty": (F("last_loyalty").asc(nulls_last=True), "pk"),
}
# Filters on the computed figures: GET parameter → model field.
FIGURE_FILTERS = ("abc_class", "rfm_segment", "lifecycle_phase", "grade")
# … and on the CLV figures: GET parameter → lookup (ranges take numbers, checked by the caller).
FIGURE_LOOKUPS = {
    "clv_min": "clv__gte",
    "clv_max": "clv__lte",
    "clv_next_12_min": "customer_value__next_12_months__gte",
    "clv_next_12_max": "customer_value__next_12_months__lte",
    "clv_basis": "customer_value__margin_basis",
    "nps_min": "last_nps__gte",
    "nps_max": "last_nps__lte",
    "csat_min": "last_csat__gte",
    "csat_max": "last_csat__lte",
    "loyalty_min": "last_loyalty__gte",
    "loyalty_max": "last_loyalty__lte",
}


@dataclass(frozen=True)
class ListFilter:
    """A party-list filter another app adds (``segment`` by kreis.marketing.segments):
    ``apply(queryset, value, user)`` narrows the list, ``describe(value, user)`` names the
    filter for the list's header (``None``: nothing to show)."""

    apply: Callable[[QuerySet, str, User], QuerySet]
    describe: Callable[[str, User], str | None]
    # A filter with choices is a select in the list's form: (value, label) the user may pick.
    label: str = ""
    all_label: str = ""  # the select's empty choice ("All relationship types")
    choices: Callable[[User], list[tuple[str, str]]] | None = None


# Query parameter → filter; registered by the apps in ``AppConfig.ready``.
LIST_FILTERS: dict[str, ListFilter] = {}


def register_list_filter(name: str, list_filter: ListFilter) -> None:
    LIST_FILTERS[name] = list_filter


def describe_list_filters(
    extra: Mapping[str, str] | None, *, user: User
) -> list[tuple[str, str, str]]:
    """(parameter, value, description) of the other apps' filters in use."""
    described = []
    for name, value in (extra or {}).items():
        if name in LIST_FILTERS and value:
            text = LIST_FILTERS[name].describe(value, user)
            if text:
                described.append((name, value, text))
    return described


def list_filter_selects(
    extra: Mapping[str, str] | None, *, user: User
) -> list[tuple[str, str, str, list[tuple[str, str]], str]]:
    """(parameter, label, empty choice's label, choices, chosen value) of the other apps'
    filters that have choices the user may pick from (the relationship type)."""
    selects = []
    for name, list_filter in LIST_FILTERS.items():
        if list_filter.choices is None:
            continue
        choices = list_filter.choices(user)
        if choices:
            selects.append(
                (
                    name,
                    str(list_filter.label),
                    str(list_filter.all_label or list_filter.label),
                    choices,
                    (extra or {}).get(name, ""),
                )
            )
    return selects


def party_list_for_user(
    *,
    user: User,
    kind: str = "",
    search: str = "",
    role: str = "",
    tag: str = "",
    owner_id: int | None = None,
    team_id: int | None = None,
    sort: str = "name",
    custom: Mapping[str, str] | None = None,
    figures: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
) -> QuerySet[Party]:
    qs = visible_records(Party.objects.filter(deleted_at__isnull=True), user=user)
    for name, value in (extra or {}).items():
        if name in LIST_FILTERS and value:
            qs = LIST_FILTERS[name].apply(qs, value, user)
    for name, value in (figures or {}).items():
        if name in FIGURE_FILTERS and value:
            qs = qs.filter(**{name: value})
        elif name in FIGURE_LOOKUPS and value is not None and value != "":
            qs = qs.filter(**{FIGURE_LOOKUPS[name]: value})
    if custom:
        qs = filter_by_custom(qs, "party", custom)
    if kind:
        qs = qs.filter(kind=kind)
    if search:
        qs = _filter_by_text(qs, search)
    if role:
        qs = qs.filter(role_assignments__role=role)
    if tag:
        qs = qs.filter(tags__name__iexact=tag)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if team_id:
        qs = qs.filter(team_id=team_id)
    return (
        qs.select_related("owner", "team", "customer_value")
        .prefetch_related("role_assignments", "tags", "contact_points")
        .order_by(*SORTS.get(sort, SORTS["name"]))
    )


# A run of three letters or digits: PostgreSQL's trigram indexes (migration 0006) can then
# narrow ``LIKE '%…%'``; a shorter term has no trigram and would read the whole index.
TRIGRAM_TERM = re.compile(r"[^\W_]{3}")


def _filter_by_text(qs: QuerySet[Party], search: str) -> QuerySet[Party]:
    """Parties whose name or one of whose contact values contains the term (case-insensitive
    like ``icontains``), or whose external ID is the term. The same matches in every form;
    the form is the one each database answers cheaply (large demo, a sales rep seeing 4,400
    of 100,000 parties):

    - PostgreSQL: the ids matching anywhere, found through the trigram indexes on
      ``UPPER(name)`` and ``UPPER(value)``, as a semi-join with the visible parties (no scan of
      the 212,000 contact points, and estimates the planner can sort and page with);
    - SQLite (and PostgreSQL for terms without a trigram): the visible parties first, each one's
      contact points looked up by its id (``EXISTS``), no join to make distinct again.
    """
    if connections[qs.db].vendor == "postgresql":
        if TRIGRAM_TERM.search(search):
            matches = (
                Party.objects.order_by()
                .filter(name__icontains=search)
                .values("pk")
                .union(
                    ContactPoint.objects.order_by()
                    .filter(value__icontains=search)
                    .values("party_id"),
                    Party.objects.order_by().filter(external_id=search).values("pk"),
                )
            )
            return qs.filter(pk__in=matches)
        # No trigram: PostgreSQL hashes every contact point for an EXISTS here; the join
        # reads those of the visible parties only.
        return qs.filter(
            Q(name__icontains=search)
            | Q(contact_points__value__icontains=search)
            | Q(external_id=search)
        ).distinct()
    contact = ContactPoint.objects.filter(party_id=OuterRef("pk"), value__icontains=search)
    return qs.filter(Q(name__icontains=search) | Exists(contact) | Q(external_id=search))


# What a row of the party list shows (``kreis.parties.rows``): not the other forty columns.
LIST_ROW_FIELDS = (
    "kind",
    "name",
    "lifecycle_phase",
    "abc_class",
    "clv",
    "custom",
    "owner",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
    "customer_value__next_12_months",
)


def party_list_rows(qs: QuerySet[Party]) -> QuerySet[Party]:
    """The list's query (``party_list_for_user``) fetching only what a row shows; the roles,
    tags and contacts come from ``party_list_details`` once the page's rows are known.

    The relationship type's name (``row_type``, in the active language; kept by kreis.marketing,
    one row per party) comes with the same query as a subquery — not a join, which the page
    count would carry along over every visible party."""
    link = Party._meta.get_field("relationship_type_link").related_model
    language = "de" if (get_language() or "").startswith("de") else "en"
    name = link.objects.filter(party_id=OuterRef("pk")).values(
        f"relationship_type__name_{language}"
    )[:1]
    return (
        qs.prefetch_related(None)
        .select_related(None)
        .select_related("owner", "customer_value")
        .only(*LIST_ROW_FIELDS)
        .annotate(row_type=Subquery(name))
    )


def party_list_details(parties: list[Party]) -> None:
    """Roles, tags and primary contacts (e-mail, phone) of a page of parties, as plain values
    on each party (``row_roles``, ``row_tags``, ``row_contacts`` as (kind, value)): three small
    queries in place of three prefetches, which built a model instance and a related manager
    per value."""
    by_pk = {party.pk: party for party in parties}
    for party in parties:
        party.row_roles, party.row_tags, party.row_contacts = [], [], []
    if not by_pk:
        return
    roles = PartyRoleAssignment.objects.filter(party_id__in=by_pk).values_list("party_id", "role")
    for party_id, role in roles:
        by_pk[party_id].row_roles.append(role)
    tags = (
        Party.tags.through.objects.filter(party_id__in=by_pk)
        .order_by("tag__name")
        .values_list("party_id", "tag__name")
    )
    for party_id, name in tags:
        by_pk[party_id].row_tags.append(name)
    contacts = (
        ContactPoint.objects.filter(party_id__in=by_pk, is_primary=True)
        .exclude(kind=ContactKind.SOCIAL)
        .order_by("kind", "pk")
        .values_list("party_id", "kind", "value")
    )
    for party_id, kind, value in contacts:
        by_pk[party_id].row_contacts.append((kind, value))


def party_get_for_user(
    *, user: User, pk: int, write: bool = False, kind: str = "", related: bool = True
) -> Party:
    """A party the user may see (or change, with ``write``); 404 otherwise. ``related=False``:
    the party's own row only, without its owner, team, figures and the six lists fetched with
    it (for a permission check, or a page that needs the name and kind: several times cheaper)."""
    qs = Party.objects.filter(pk=pk, deleted_at__isnull=True)
    if kind:
        qs = qs.filter(kind=kind)
    if related:
        qs = qs.select_related("owner", "team", "customer_value").prefetch_related(
            "role_assignments",
            "tags",
            "contact_points",
            "addresses",
            Prefetch("employments", queryset=Employment.objects.select_related("organization")),
            Prefetch("staff", queryset=Employment.objects.select_related("person")),
        )
    party = qs.first()
    perm = "core.change_record" if write else "core.view_record"
    if party is None or not user.has_perm(perm, party):
        raise Http404
    return party


@dataclass
class PartyPage:
    """A party with what its page lists: roles, tags, contact data, addresses, and whom it is
    linked with (``employments``: the organisations a person works for; ``staff``: the
    people of an organisation)."""

    party: Party
    roles: list[PartyRoleAssignment]
    tags: list[Tag]
    contacts: list[ContactPoint]
    addresses: list[Address]
    employments: list[Employment]
    staff: list[Employment]


# The columns the party page shows (and the permission check needs), not the computed figures.
PAGE_FIELDS = (
    "kind",
    "name",
    "salutation",
    "industry",
    "size",
    "source",
    "territory",
    "website",
    "vat_id",
    "iban",
    "notes",
    "custom",
    "external_id",
    "figures_computed_at",
    "owner",
    "team",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
    "team__name",
)
# Of the party at the other end of an employment: its link (``party_link``).
LINKED_PARTY_FIELDS = ("name", "kind", "owner", "team")


def party_page_for_user(*, user: User, pk: int) -> PartyPage:
    """A party the user may see, with what its page lists; 404 otherwise. Plain queries by the
    party's id (each list in its model's order, the links in the order they were made), not
    ``party_get_for_user``'s prefetches, which cost several times as much CPU."""
    party = (
        Party.objects.filter(pk=pk, deleted_at__isnull=True)
        .select_related("owner", "team")
        .only(*PAGE_FIELDS)
        .first()
    )
    if party is None or not user.has_perm("core.view_record", party):
        raise Http404
    links = list(
        Employment.objects.filter(Q(person_id=pk) | Q(organization_id=pk))
        .select_related("person", "organization")
        .only(
            "person",
            "organization",
            "position",
            "department",
            "is_primary_contact",
            *(f"person__{f}" for f in LINKED_PARTY_FIELDS),
            *(f"organization__{f}" for f in LINKED_PARTY_FIELDS),
        )
        .order_by("pk")
    )
    return PartyPage(
        party=party,
        roles=list(PartyRoleAssignment.objects.filter(party_id=pk)),
        tags=list(Tag.objects.filter(parties__id=pk)),
        contacts=list(ContactPoint.objects.filter(party_id=pk)),
        addresses=list(Address.objects.filter(party_id=pk)),
        employments=[e for e in links if e.person_id == pk],
        staff=[e for e in links if e.organization_id == pk],
    )


def party_relationships(*, party: Party, user: User) -> list:
    """The party's relationships in both directions, limited to live parties the user may see
    (``core.view_record``, the rule ``visible_records`` puts into SQL): its own (outgoing)
    first, then those pointing at it, each in the order they were added (before, the order was
    whatever the database's plan gave, and differed between users). One plain query by the
    party's id, the other party checked here: of it only what a link, the graph and the
    check need."""
    rows = (
        Relationship.objects.filter(Q(source_id=party.pk) | Q(target_id=party.pk))
        .select_related("source", "target")
        .only(*RELATIONSHIP_FIELDS)
        .order_by("pk")
    )
    outgoing, incoming = [], []
    for rel in rows:
        mine = rel.source_id == party.pk
        other = rel.target if mine else rel.source
        if other.deleted_at is None and user.has_perm("core.view_record", other):
            (outgoing if mine else incoming).append(rel)
    return outgoing + incoming


RELATIONSHIP_FIELDS = (
    "source",
    "target",
    "type",
    "note",
    "created_at",
    *(f"{end}__{f}" for end in ("source", "target") for f in LINKED_PARTY_FIELDS),
    "source__deleted_at",
    "target__deleted_at",
)


# The one rule for a party linked to a record the user may see (a deal's organisation, an
# activity's party, a colleague's employer): its name only if the user may see the party too,
# otherwise this placeholder — no name, no link — on pages, in exports and in search.
HIDDEN_PARTY = gettext_lazy("Hidden party")


def party_visible(*, user: User, party: Party) -> bool:
    return user.has_perm("core.view_record", party)


def party_name_for_user(*, user: User, party: Party | None) -> str:
    """The linked party's name as this user may see it: "" for none, "Hidden party" for one
    they may not see (``party_link`` in templates applies the same rule)."""
    if party is None:
        return ""
    return party.name if party_visible(user=user, party=party) else str(HIDDEN_PARTY)


def organizations_for_user(*, user: User) -> QuerySet[Party]:
    return party_list_for_user(user=user, kind=PartyKind.ORGANIZATION)


def parties_for_bulk(*, user: User, ids: list[int]) -> list[Party]:
    """The selected parties the user may see (others are silently not found)."""
    qs = visible_records(Party.objects.filter(pk__in=ids, deleted_at__isnull=True), user=user)
    return list(qs.select_related("owner", "team"))


@dataclass
class Duplicates:
    """Likely duplicates of a party being entered: the ones the user may open, and how many
    more exist that they may not see (so they ask instead of creating a second record)."""

    visible: list[tuple[Party, str]]
    hidden_count: int

    def __bool__(self) -> bool:
        return bool(self.visible or self.hidden_count)


def likely_duplicates(
    *,
    user: User,
    kind: str,
    name: str = "",
    emails: Iterable[str] = (),
    phones: Iterable[str] = (),
    company: str = "",
    exclude_pk: int | None = None,
    limit: int = 5,
) -> Duplicates:
    """Parties that are probably the same: same normalised e-mail or phone, or a name
    that matches closely (typos and umlaut spellings tolerated) — for persons also
    working for the same company when one is given."""
    reasons: dict[int, str] = {}
    values = []
    for raw, normalize in [(e, normalize_email) for e in emails] + [
        (p, normalize_phone) for p in phones
    ]:
        try:
            values.append(normalize(raw))
        except ValidationError:
            continue
    if values:
        for party_id, value in ContactPoint.objects.filter(
            value__in=values, party__deleted_at__isnull=True
        ).values_list("party_id", "value")[:50]:
            reasons.setdefault(party_id, _("same e-mail or phone: %s") % value)
    folded = fold(name)
    if len(folded) >= 3:
        for entry in SearchEntry.objects.filter(entity="party").filter(
            pk__in=_name_candidates(folded)
        ):
            if fold(entry.title) == folded or _similar_name(folded, fold(entry.title)):
                reasons.setdefault(entry.object_id, _("similar name"))
    if exclude_pk:
        reasons.pop(exclude_pk, None)
    if not reasons:
        return Duplicates([], 0)
    parties = Party.objects.filter(pk__in=reasons, kind=kind, deleted_at__isnull=True)
    if company and kind == PartyKind.PERSON:
        same_company = set(
            parties.filter(employments__organization__name__iexact=company.strip()).values_list(
                "pk", flat=True
            )
        )
        for pk in same_company:
            reasons[pk] = reasons[pk] + " · " + _("same company")
    visible = list(visible_records(parties, user=user).order_by("name")[:limit])
    hidden = parties.count() - len(visible) if len(visible) < limit else 0
    return Duplicates([(p, reasons[p.pk]) for p in visible], max(hidden, 0))


def _name_candidates(folded: str) -> list[int]:
    from kreis.core.search import candidate_ids

    return candidate_ids(folded) or []


def _similar_name(a: str, b: str) -> bool:
    from difflib import SequenceMatcher

    return SequenceMatcher(None, a, b).ratio() >= 0.85


def party_merge_get_for_user(*, user: User, pk: int) -> PartyMerge:
    merge = (
        PartyMerge.objects.select_related("survivor", "merged", "performed_by")
        .filter(pk=pk)
        .first()
    )
    if merge is None or not user.has_perm("core.view_record", merge.survivor):
        raise Http404
    return merge


def party_merges(*, party: Party) -> list[PartyMerge]:
    """The latest merges into the party, with what its page shows of them."""
    return list(
        PartyMerge.objects.filter(survivor=party)
        .select_related("merged", "performed_by")
        .only(
            "survivor",
            "merged",
            "performed_by",
            "performed_at",
            "undone_at",
            "merged__name",
            "performed_by__username",
            "performed_by__first_name",
            "performed_by__last_name",
        )[:10]
    )


def organization_by_reference(
    *, user: User, pk: int | None = None, external_id: str | None = None
) -> Party:
    """An organisation the user may see, by id or by its key in another system; 404 else."""
    qs = Party.objects.filter(kind=PartyKind.ORGANIZATION, deleted_at__isnull=True)
    party = qs.filter(pk=pk).first() if pk else qs.filter(external_id=external_id).first()
    if party is None or not user.has_perm("core.view_record", party):
        raise Http404
    return party
