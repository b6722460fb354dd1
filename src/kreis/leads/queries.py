"""Reads of leads, permission-aware: UI and API fetch through these.

Also the matching that conversion and the create form share: which existing person or
organisation a lead most likely is, and which records look like duplicates of a new lead.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from kreis.core.customfields import filter_by_custom
from kreis.core.models import User
from kreis.core.queries import visible_records
from kreis.leads.models import Lead, LeadStatus
from kreis.parties.models import ContactKind, ContactPoint, Party, PartyKind, Tag
from kreis.parties.normalize import normalize_email, normalize_phone

SORTS = {
    "-created": ("-created_at", "-pk"),
    "created": ("created_at", "pk"),
    "name": ("last_name", "first_name", "pk"),
    "-name": ("-last_name", "-first_name", "-pk"),
    "company": ("company", "last_name", "pk"),
    "-updated": ("-updated_at", "-pk"),
    "status": ("status", "-created_at", "-pk"),
    # Highest first, leads without a score last.
    "-score": (F("score").desc(nulls_last=True), "-created_at", "-pk"),
    "-predicted": (F("predicted_score").desc(nulls_last=True), "-created_at", "-pk"),
}


def _alive() -> QuerySet[Lead]:
    return Lead.objects.filter(deleted_at__isnull=True)


def lead_list_for_user(
    *,
    user: User,
    status: str = "",
    owner_id: int | None = None,
    team_id: int | None = None,
    source: str = "",
    search: str = "",
    tag: str = "",
    sort: str = "-created",
    custom: Mapping[str, str] | None = None,
) -> QuerySet[Lead]:
    qs = visible_records(_alive(), user=user)
    if custom:
        qs = filter_by_custom(qs, "lead", custom)
    if status:
        qs = qs.filter(status=status)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if team_id:
        qs = qs.filter(team_id=team_id)
    if source:
        qs = qs.filter(source__iexact=source)
    if search:
        qs = qs.filter(
            Q(last_name__icontains=search)
            | Q(first_name__icontains=search)
            | Q(company__icontains=search)
            | Q(email__icontains=search)
            | Q(phone__icontains=search)
            | Q(external_id=search)
        )
    if tag:
        qs = qs.filter(tags__name__iexact=tag)
    return (
        qs.select_related("owner", "team")
        .prefetch_related("tags")
        .order_by(*SORTS.get(sort, SORTS["-created"]))
    )


# The relations the lead's page shows; the API shows their ids only (``related=()``).
DETAIL_RELATED = (
    "owner",
    "team",
    "referred_by",
    "converted_person",
    "converted_organization",
    "converted_deal",
)


# What a row of the lead list shows (kreis.leads.templatetags.lead_rows).
ROW_FIELDS = (
    "status",
    "first_name",
    "last_name",
    "company",
    "email",
    "phone",
    "source",
    "custom",
    "score",
    "predicted_score",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
)


def lead_list_rows(leads: QuerySet[Lead]) -> QuerySet[Lead]:
    """``leads`` (from ``lead_list_for_user``) with the columns the list's rows show only: no
    notes, qualification or team, the owner's name only."""
    return leads.select_related(None).select_related("owner").only(*ROW_FIELDS)


def lead_get_for_user(
    *, user: User, pk: int, write: bool = False, related: tuple[str, ...] = DETAIL_RELATED
) -> Lead:
    """A lead the user may see (or change, with ``write``); 404 otherwise. ``related``: the
    relations loaded with it (each another join of a wide table)."""
    qs = _alive().filter(pk=pk).order_by().prefetch_related("tags")
    if related:
        qs = qs.select_related(*related)
    lead = next(iter(qs[:1]), None)
    perm = "core.change_record" if write else "core.view_record"
    if lead is None or not user.has_perm(perm, lead):
        raise Http404
    return lead


def leads_for_bulk(*, user: User, ids: list[int]) -> list[Lead]:
    """The selected leads the user may see (others are silently not found)."""
    qs = visible_records(_alive().filter(pk__in=ids), user=user)
    return list(qs.select_related("owner", "team"))


def lead_sources(*, user: User) -> list[str]:
    """The sources used on the user's visible leads, for the list's filter."""
    qs = visible_records(_alive(), user=user).exclude(source="").order_by("source")
    return list(qs.values_list("source", flat=True).distinct()[:50])


def lead_history(*, lead: Lead, limit: int = 25) -> list[dict]:
    """Each change with who, when, why and old → new per field (django-simple-history)."""
    records = list(lead.history.select_related("history_user")[: limit + 1])
    fields = {f.name: f for f in Lead._meta.get_fields() if hasattr(f, "verbose_name")}

    def shown(name: str, value):
        field = fields.get(name)
        if isinstance(value, list):  # tags: the through rows of that version
            ids = {row.get("tag") for row in value if isinstance(row, dict)}
            return ", ".join(sorted(Tag.objects.filter(pk__in=ids).values_list("name", flat=True)))
        if field is not None and field.choices and value:
            return dict(field.flatchoices).get(value, value)
        return value

    entries = []
    for newer, older in zip(records, [*records[1:], None], strict=False):
        changes = []
        if older is not None:
            delta = newer.diff_against(older, excluded_fields=["updated_at"])
            changes = [
                (
                    str(fields[c.field].verbose_name) if c.field in fields else c.field,
                    shown(c.field, c.old),
                    shown(c.field, c.new),
                )
                for c in delta.changes
            ]
        entries.append({"record": newer, "changes": changes})
    return entries[:limit]


# --- Matching -------------------------------------------------------------------------------

UMLAUTS = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"}
# Legal forms dropped when comparing company names ("Müller GmbH" is "Mueller").
LEGAL_FORMS = {
    "gmbh",
    "mbh",
    "ag",
    "kg",
    "kgaa",
    "ohg",
    "ug",
    "gbr",
    "ev",
    "eg",
    "se",
    "co",
    "cokg",
    "haftungsbeschraenkt",
    "ltd",
    "limited",
    "inc",
    "incorporated",
    "llc",
    "llp",
    "plc",
    "corp",
    "corporation",
    "company",
    "sa",
    "sarl",
    "sas",
    "bv",
    "nv",
    "ab",
    "oy",
    "spa",
    "srl",
}


def _fold(text: str) -> str:
    """Lower case, umlauts spelled out, other accents dropped."""
    text = text.lower()
    for umlaut, plain in UMLAUTS.items():
        text = text.replace(umlaut, plain)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def organization_key(name: str) -> str:
    """A company name reduced to what identifies it: ``Müller GmbH`` and ``mueller gmbh``
    and ``Müller G.m.b.H.`` all become ``mueller``."""
    folded = _fold(name).replace("&", " ")
    folded = re.sub(r"\b(\w)\.(?=\w\.)", r"\1", folded)  # g.m.b.h. -> gmbh.
    folded = re.sub(r"(?<=\w)\.(?=\w)", "", folded)
    words = re.findall(r"[a-z0-9]+", folded)
    while words and words[-1] in LEGAL_FORMS:
        words.pop()
    return " ".join(words)


def _spellings(word: str) -> list[str]:
    """The ways a folded word may be written in the database (``mueller`` → ``müller``…)."""
    parts = re.split(r"(ae|oe|ue|ss)", word)
    back = {v: k for k, v in UMLAUTS.items()}
    options = [[p, back[p]] if p in back else [p] for p in parts]
    variants = ["".join(combo) for combo in itertools.islice(itertools.product(*options), 16)]
    # SQLite compares only ASCII letters case-insensitively.
    return sorted({v for variant in variants for v in (variant, variant.upper())})


def matching_organization(*, user: User | None, name: str) -> Party | None:
    """The visible organisation whose name is the same as ``name`` once case, umlaut
    spelling and legal form are ignored (oldest first, so the established record wins)."""
    key = organization_key(name)
    if not key:
        return None
    anchor = max(key.split(), key=len)
    qs = Party.objects.filter(kind=PartyKind.ORGANIZATION, deleted_at__isnull=True)
    if user is not None:
        qs = visible_records(qs, user=user)
    condition = Q()
    for spelling in _spellings(anchor):
        condition |= Q(name__icontains=spelling)
    for party in qs.filter(condition).order_by("created_at", "pk")[:200]:
        if organization_key(party.name) == key:
            return party
    return None


def _normalized(value: str, normalize) -> str:
    if not value:
        return ""
    try:
        return normalize(value)
    except ValidationError:
        return ""


def matching_person(*, user: User | None, email: str = "", phone: str = "") -> Party | None:
    """The visible person with this e-mail address or phone number (normalised), if any;
    an e-mail match wins over a phone match."""
    email = _normalized(email, normalize_email)
    phone = _normalized(phone, normalize_phone)
    persons = Party.objects.filter(kind=PartyKind.PERSON, deleted_at__isnull=True)
    if user is not None:
        persons = visible_records(persons, user=user)
    for kind, value in ((ContactKind.EMAIL, email), (ContactKind.PHONE, phone)):
        if not value:
            continue
        points = ContactPoint.objects.filter(kind=kind, value=value, party__in=persons)
        point = points.select_related("party").order_by("party__created_at", "party_id").first()
        if point is not None:
            return point.party
    return None


@dataclass(frozen=True)
class Duplicate:
    kind: str  # "lead", "person" or "organization"
    title: str
    url: str
    reason: str


def likely_duplicates_for_lead(
    *,
    user: User,
    email: str = "",
    phone: str = "",
    first_name: str = "",
    last_name: str = "",
    company: str = "",
    exclude_pk: int | None = None,
    limit: int = 10,
) -> list[Duplicate]:
    """Visible leads and parties a new lead probably duplicates: the same normalised e-mail
    or phone, or the same name at the same company (company compared as in conversion)."""
    email = _normalized(email, normalize_email)
    phone = _normalized(phone, normalize_phone)
    first_name, last_name = first_name.strip(), last_name.strip()
    company_key = organization_key(company)
    found: list[Duplicate] = []

    leads = visible_records(_alive(), user=user).exclude(status=LeadStatus.CONVERTED)
    if exclude_pk:
        leads = leads.exclude(pk=exclude_pk)
    condition = Q(pk__in=[])
    if email:
        condition |= Q(email=email)
    if phone:
        condition |= Q(phone=phone)
    if last_name and company_key:
        condition |= Q(last_name__iexact=last_name, first_name__iexact=first_name)
    for lead in leads.filter(condition)[: limit * 2]:
        if email and lead.email == email:
            reason = _("Same e-mail address")
        elif phone and lead.phone == phone:
            reason = _("Same phone number")
        elif organization_key(lead.company) == company_key:
            reason = _("Same name and company")
        else:
            continue
        found.append(Duplicate("lead", str(lead), f"/leads/{lead.pk}/", reason))

    persons = visible_records(
        Party.objects.filter(kind=PartyKind.PERSON, deleted_at__isnull=True), user=user
    )
    contact = Q(pk__in=[])
    if email:
        contact |= Q(contact_points__kind=ContactKind.EMAIL, contact_points__value=email)
    if phone:
        contact |= Q(contact_points__kind=ContactKind.PHONE, contact_points__value=phone)
    for party in persons.filter(contact).distinct()[:limit]:
        found.append(Duplicate("person", party.name, f"/parties/{party.pk}/", _("Existing person")))
    if last_name and company_key:
        named = persons.filter(
            last_name__iexact=last_name, first_name__iexact=first_name
        ).prefetch_related("employments__organization")
        seen = {d.url for d in found}
        for party in named[:limit]:
            orgs = [e.organization.name for e in party.employments.all()]
            if f"/parties/{party.pk}/" not in seen and any(
                organization_key(o) == company_key for o in orgs
            ):
                found.append(
                    Duplicate(
                        "person",
                        party.name,
                        f"/parties/{party.pk}/",
                        _("Same name and company"),
                    )
                )
    if company:
        org = matching_organization(user=user, name=company)
        if org is not None:
            found.append(
                Duplicate(
                    "organization",
                    org.name,
                    f"/parties/{org.pk}/",
                    _("Organisation exists already"),
                )
            )
    return found[:limit]
