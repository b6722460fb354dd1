"""Writes of leads: typed, keyword-only, atomic; every change lands in the lead's history.

The status follows one flow (``TRANSITIONS``), changed only through ``lead_set_status`` and,
for the final step, ``lead_convert``. The history keeps who changed it, when, from, to and
why (the disqualification reason is the history's change reason).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kreis.core.bulk import BulkActions
from kreis.core.customfields import clean_custom_values
from kreis.core.models import Team, User
from kreis.core.search import index_record
from kreis.core.services import check_assignment
from kreis.leads import queries
from kreis.leads.models import DisqualifyReason, Lead, LeadStatus
from kreis.parties import services as party_services
from kreis.parties.models import Employment, Party, PartyKind, PartyRole, Tag
from kreis.parties.normalize import normalize_email, normalize_phone
from kreis.sales import services as sales_services
from kreis.sales.models import Deal, Pipeline

SCALAR_FIELDS = (
    "salutation",
    "first_name",
    "last_name",
    "company",
    "position",
    "email",
    "phone",
    "website",
    "source",
    "budget",
    "authority",
    "need",
    "timeline",
    "notes",
    "external_id",
)
TEXT_FIELDS = set(SCALAR_FIELDS) - {"budget", "timeline", "external_id"}

# Where a lead may go from each status. Beyond the main flow (new → contacted → qualified or
# disqualified; qualified back to contacted), spam can be disqualified straight away and a
# disqualified lead can be taken up again. Converted is final and reached only by conversion.
TRANSITIONS: dict[str, set[str]] = {
    LeadStatus.NEW: {LeadStatus.CONTACTED, LeadStatus.DISQUALIFIED},
    LeadStatus.CONTACTED: {LeadStatus.QUALIFIED, LeadStatus.DISQUALIFIED},
    LeadStatus.QUALIFIED: {LeadStatus.CONTACTED, LeadStatus.DISQUALIFIED},
    LeadStatus.DISQUALIFIED: {LeadStatus.CONTACTED},
    LeadStatus.CONVERTED: set(),
}
CONVERTIBLE = {LeadStatus.CONTACTED, LeadStatus.QUALIFIED}

_UNSET: Any = object()


def allowed_statuses(lead: Lead) -> list[str]:
    """The statuses the lead may move to next, in flow order."""
    return [s for s in LeadStatus.values if s in TRANSITIONS[lead.status]]


def _clean_scalars(data: dict[str, Any]) -> dict[str, Any]:
    data = {k: (v.strip() if isinstance(v, str) else v) for k, v in data.items()}
    for field in TEXT_FIELDS & set(data):
        if data[field] is None:
            data[field] = ""
    errors: dict[str, list[str]] = {}
    for field, normalize in (("email", normalize_email), ("phone", normalize_phone)):
        if data.get(field):
            try:
                data[field] = normalize(data[field])
            except ValidationError as exc:
                errors[field] = exc.messages
    if "external_id" in data and not data["external_id"]:
        data["external_id"] = None
    if errors:
        raise ValidationError(errors)
    return data


def set_tags(lead: Lead, names: Iterable[str]) -> None:
    tags = []
    for name in {n.strip()[:50] for n in names if n.strip()}:
        tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name)
        tags.append(tag)
    lead.tags.set(tags)


def _save(lead: Lead) -> None:
    if lead.external_id and (
        Lead.objects.filter(external_id=lead.external_id).exclude(pk=lead.pk).exists()
    ):
        raise ValidationError({"external_id": _("Another lead has this external ID.")})
    lead.full_clean(
        exclude=[
            "owner",
            "team",
            "tags",
            "referred_by",
            "converted_person",
            "converted_organization",
            "converted_deal",
            "external_id",
        ]
    )
    lead.save()
    index_record(lead)


def _check_change(actor: User | None, lead: Lead) -> None:
    if actor is not None and not actor.has_perm("core.change_record", lead):
        raise PermissionDenied


@transaction.atomic
def lead_create(
    *,
    actor: User | None,
    owner: User | None = None,
    team: Team | None = None,
    referred_by: Party | None = None,
    tags: Iterable[str] = (),
    custom: Mapping[str, Any] | None = None,
    **fields: Any,
) -> Lead:
    """Create a lead (status new) with normalised e-mail and phone.

    Without an owner the acting user owns it; without a team, the actor's first team.
    ``referred_by`` is the existing party who recommended the lead; the caller resolves it
    among the parties the actor may see.
    """
    if actor is not None and actor.is_read_only:
        raise PermissionDenied
    unknown = set(fields) - set(SCALAR_FIELDS)
    if unknown:
        raise ValidationError({f: _("This field cannot be set.") for f in sorted(unknown)})
    if owner is None and actor is not None:
        owner = actor
    if team is None and actor is not None:
        team = Team.objects.filter(pk__in=actor.team_ids()).order_by("pk").first()
    check_assignment(actor=actor, owner=owner, team=team)
    lead = Lead(
        owner=owner,
        team=team,
        referred_by=referred_by,
        status=LeadStatus.NEW,
        **_clean_scalars(fields),
    )
    lead.custom = clean_custom_values("lead", dict(custom or {}))
    _save(lead)
    if tags:
        set_tags(lead, tags)
    return lead


@transaction.atomic
def lead_update(
    *,
    actor: User | None,
    lead: Lead,
    owner: User | None = _UNSET,
    team: Team | None = _UNSET,
    referred_by: Party | None = _UNSET,
    tags: Iterable[str] | None = None,
    custom: Mapping[str, Any] | None = None,
    **changes: Any,
) -> Lead:
    """Change a lead's fields (not its status: see ``lead_set_status``); tags given replace
    the old; custom values given are merged (``None`` clears one)."""
    _check_change(actor, lead)
    unknown = set(changes) - set(SCALAR_FIELDS)
    if unknown:
        raise ValidationError({f: _("This field cannot be changed.") for f in sorted(unknown)})
    new_owner = lead.owner if owner is _UNSET else owner
    new_team = lead.team if team is _UNSET else team
    if (new_owner, new_team) != (lead.owner, lead.team):
        check_assignment(actor=actor, owner=new_owner, team=new_team)
    lead.owner, lead.team = new_owner, new_team
    if referred_by is not _UNSET:
        lead.referred_by = referred_by
    for field, value in _clean_scalars(changes).items():
        setattr(lead, field, value)
    if custom is not None:
        lead.custom = clean_custom_values("lead", dict(custom), existing=lead.custom)
    _save(lead)
    if tags is not None:
        set_tags(lead, tags)
    return lead


@transaction.atomic
def lead_delete(*, actor: User | None, lead: Lead) -> None:
    """Soft delete: the lead disappears from lists and search but stays restorable."""
    _check_change(actor, lead)
    lead.deleted_at = timezone.now()
    lead.save(update_fields=["deleted_at", "updated_at"])
    index_record(lead)


@transaction.atomic
def lead_assign(
    *, actor: User | None, lead: Lead, owner: User | None, team: Team | None = _UNSET
) -> Lead:
    """Give the lead to another owner (and team); managers assign within their teams."""
    return lead_update(actor=actor, lead=lead, owner=owner, team=team)


@transaction.atomic
def lead_set_status(
    *, actor: User | None, lead: Lead, status: str, reason: str = "", note: str = ""
) -> Lead:
    """Move the lead along the flow. Disqualifying needs a reason (one of
    ``DisqualifyReason``) and may carry a note; leaving disqualified clears both."""
    _check_change(actor, lead)
    if status == LeadStatus.CONVERTED:
        raise ValidationError({"status": _("Convert the lead to mark it converted.")})
    if status not in LeadStatus.values:
        raise ValidationError({"status": _("Unknown status.")})
    if status == lead.status:
        return lead
    if status not in TRANSITIONS[lead.status]:
        raise ValidationError(
            {
                "status": _("A lead cannot go from “%(from)s” to “%(to)s”.")
                % {"from": lead.get_status_display(), "to": LeadStatus(status).label}
            }
        )
    if status == LeadStatus.DISQUALIFIED:
        if reason not in DisqualifyReason.values:
            raise ValidationError({"reason": _("Choose why the lead is disqualified.")})
        lead.disqualify_reason, lead.disqualify_note = reason, note.strip()[:300]
        lead._change_reason = DisqualifyReason(reason).label  # type: ignore[attr-defined]
    else:
        lead.disqualify_reason, lead.disqualify_note = "", ""
    lead.status = status
    lead.save(update_fields=["status", "disqualify_reason", "disqualify_note", "updated_at"])
    index_record(lead)  # the status shows in the search hit
    return lead


# --- Conversion -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ConversionResult:
    lead: Lead
    person: Party
    person_created: bool
    organization: Party | None
    organization_created: bool
    deal: Deal | None


@dataclass(frozen=True)
class ConversionPlan:
    """What a conversion would do now: the parties it would reuse (``None``: create one)."""

    person: Party | None
    organization: Party | None


def conversion_plan(*, actor: User, lead: Lead) -> ConversionPlan:
    """The existing person (same e-mail or phone) and organisation (same name) that
    converting the lead would reuse, as the actor sees them."""
    return ConversionPlan(
        person=queries.matching_person(user=actor, email=lead.email, phone=lead.phone),
        organization=(
            queries.matching_organization(user=actor, name=lead.company) if lead.company else None
        ),
    )


def _check_picked(actor: User | None, party: Party | None, *, kind: str, field: str) -> None:
    if party is None:
        return
    if party.kind != kind or party.deleted_at is not None:
        raise ValidationError(
            {
                field: _("Choose an organisation.")
                if kind == PartyKind.ORGANIZATION
                else _("Choose a person.")
            }
        )
    if actor is not None and not actor.has_perm("core.view_record", party):
        raise ValidationError({field: _("You cannot link a party you may not see.")})


def _new_record_owner(actor: User | None, lead: Lead) -> tuple[User | None, Team | None]:
    """The converted records go to the lead's owner and team when the actor may assign
    them there; otherwise to the actor (and their first team)."""
    try:
        check_assignment(actor=actor, owner=lead.owner, team=lead.team)
    except ValidationError:
        return None, None
    return lead.owner, lead.team


@transaction.atomic
def lead_convert(
    *,
    actor: User | None,
    lead: Lead,
    create_deal: bool = True,
    deal_name: str = "",
    amount: Decimal | int | str | None = None,
    pipeline: Pipeline | None = None,
    person: Party | None = None,
    organization: Party | None = None,
) -> ConversionResult:
    """Turn a contacted or qualified lead into a person, their organisation and a deal, in
    one transaction: all of it happens or nothing does.

    Existing records are reused instead of duplicated: the person with the lead's e-mail or
    phone, the organisation with the same name (ignoring case, umlaut spelling and legal
    form) — unless the caller picks ``person``/``organization`` explicitly. The person is
    linked to the organisation with the lead's position; the lead's activities move to the
    person; the lead becomes converted and links to what was made.
    """
    _check_change(actor, lead)
    # Lock the row, so two simultaneous conversions cannot both pass the status check.
    current = Lead.objects.select_for_update().filter(pk=lead.pk).values("status").first()
    status = current["status"] if current else lead.status
    if status == LeadStatus.CONVERTED:
        raise ValidationError({"status": _("This lead has been converted already.")})
    if status not in CONVERTIBLE:
        raise ValidationError({"status": _("Only contacted or qualified leads can be converted.")})
    _check_picked(actor, person, kind=PartyKind.PERSON, field="person_id")
    _check_picked(actor, organization, kind=PartyKind.ORGANIZATION, field="organization_id")
    owner, team = _new_record_owner(actor, lead)

    if organization is None and lead.company:
        organization = queries.matching_organization(user=actor, name=lead.company)
    organization_created = False
    if organization is None and lead.company:
        organization = party_services.party_create(
            actor=actor,
            kind=PartyKind.ORGANIZATION,
            owner=owner,
            team=team,
            name=lead.company,
            website=lead.website,
            source=lead.source,
            roles=[PartyRole.PROSPECT],
            tags=[t.name for t in lead.tags.all()],
        )
        organization_created = True

    if person is None:
        person = queries.matching_person(user=actor, email=lead.email, phone=lead.phone)
    person_created = False
    if person is None:
        person = party_services.party_create(
            actor=actor,
            kind=PartyKind.PERSON,
            owner=owner,
            team=team,
            salutation=lead.salutation,
            first_name=lead.first_name,
            last_name=lead.last_name,
            source=lead.source,
            emails=[{"value": lead.email}] if lead.email else [],
            phones=[{"value": lead.phone}] if lead.phone else [],
            roles=[PartyRole.PROSPECT],
            tags=[t.name for t in lead.tags.all()],
        )
        person_created = True

    if (
        organization is not None
        and not Employment.objects.filter(person=person, organization=organization).exists()
    ):
        party_services.employment_set(
            actor=actor, person=person, organization=organization, position=lead.position
        )

    deal = None
    if create_deal:
        deal = sales_services.deal_create(
            actor=actor,
            name=deal_name.strip() or _default_deal_name(lead, organization, person),
            organization=organization,
            contact=person,
            amount=amount if amount not in (None, "") else (lead.budget or Decimal(0)),
            pipeline=pipeline,
            owner=owner,
            team=team,
            source=lead.source,
        )

    lead.status = LeadStatus.CONVERTED
    lead.converted_at = timezone.now()
    lead.converted_person = person
    lead.converted_organization = organization
    lead.converted_deal = deal
    lead._change_reason = _("Converted")  # type: ignore[attr-defined]
    lead.save()
    index_record(lead)
    # The lead's activities now belong to the person as well (they keep their lead link, so
    # the lead's page still shows them). The reverse accessor avoids importing activities.
    lead.activities.filter(party__isnull=True).update(party=person)
    return ConversionResult(
        lead=lead,
        person=person,
        person_created=person_created,
        organization=organization,
        organization_created=organization_created,
        deal=deal,
    )


def _default_deal_name(lead: Lead, organization: Party | None, person: Party) -> str:
    return (organization.name if organization else person.name)[:200]


# --- Bulk -----------------------------------------------------------------------------------

# The list's bulk actions (kreis.core.bulk): each one is the single-lead service.
LEAD_BULK = BulkActions(
    assign_owner=lambda *, actor, record, owner: lead_assign(actor=actor, lead=record, owner=owner),
    delete=lambda *, actor, record: lead_delete(actor=actor, lead=record),
    tags=True,
)
