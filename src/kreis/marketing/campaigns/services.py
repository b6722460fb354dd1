"""Campaigns: touches and attribution, members and their responses, costs, events.

Attribution rules (``record_touch`` keeps them, ``attribute_deal`` applies them to deals):

- A lead's *first* campaign is the campaign of its earliest touch, its *last* campaign that of
  its latest touch. Once a lead is converted, touches after the conversion no longer change its
  last campaign (the deal was won by what came before).
- A deal takes its attribution from the lead it was converted from (``Lead.converted_deal``);
  a deal without such a lead takes it from its customer's (contact's or organisation's)
  touches up to the deal's creation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kreis.core.models import User
from kreis.leads.models import Lead
from kreis.marketing.models import (
    Campaign,
    CampaignChannel,
    CampaignCost,
    CampaignMember,
    CampaignTouch,
    DealAttribution,
    LeadAttribution,
    ResponseKind,
    TouchKind,
)
from kreis.parties.models import Party
from kreis.sales.models import Deal

# The response a touch of a kind stands for (stamped on the member when still empty).
TOUCH_RESPONSE = {
    TouchKind.FORM: ResponseKind.RESPONDED,
    TouchKind.CLICK: ResponseKind.CLICKED,
    TouchKind.DOWNLOAD: ResponseKind.RESPONDED,
}


# --- touches and attribution ------------------------------------------------------------------


def campaign_for_utm(utm_campaign: str) -> Campaign | None:
    """The campaign whose code is ``utm_campaign`` (ignoring case), or None."""
    code = (utm_campaign or "").strip()
    if not code:
        return None
    return Campaign.objects.filter(code__iexact=code).order_by("pk").first()


def _member_for(campaign: Campaign, *, lead: Lead | None, party: Party | None) -> CampaignMember:
    """The campaign's member for this lead (or party), created when missing."""
    lookup = {"lead": lead} if lead is not None else {"party": party}
    member = CampaignMember.objects.filter(campaign=campaign, **lookup).first()
    if member is not None:
        return member
    try:
        with transaction.atomic():
            return CampaignMember.objects.create(campaign=campaign, **lookup)
    except IntegrityError:  # created at the same moment by another request
        return CampaignMember.objects.get(campaign=campaign, **lookup)


def refresh_lead_attribution(lead: Lead) -> LeadAttribution | None:
    """Recompute the lead's first and last campaign from its touches (see the module doc)."""
    touches = CampaignTouch.objects.filter(lead=lead).order_by("at", "pk")
    first = touches.values("campaign_id", "at").first()
    if first is None:
        LeadAttribution.objects.filter(lead=lead).delete()
        return None
    before = touches
    converted_at = Lead.objects.filter(pk=lead.pk).values_list("converted_at", flat=True).first()
    if converted_at is not None:
        before = touches.filter(at__lte=converted_at)
    last = before.order_by("-at", "-pk").values("campaign_id", "at").first() or first
    attribution, _created = LeadAttribution.objects.update_or_create(
        lead=lead,
        defaults={
            "first_campaign_id": first["campaign_id"],
            "first_at": first["at"],
            "last_campaign_id": last["campaign_id"],
            "last_at": last["at"],
        },
    )
    return attribution


def record_touch(
    *,
    campaign: Campaign,
    kind: str,
    at: datetime | None = None,
    lead: Lead | None = None,
    party: Party | None = None,
) -> CampaignTouch:
    """Record that a lead (or, without one, a party) met ``campaign``: the touch, its
    membership in the campaign (with the response the touch stands for) and the lead's
    first/last-touch attribution, all in one transaction."""
    if lead is None and party is None:
        raise ValueError("record_touch needs a lead or a party")
    if kind not in TouchKind.values:
        raise ValueError(f"unknown touch kind {kind!r}")
    at = at or timezone.now()
    with transaction.atomic():
        if lead is not None:
            # One touch at a time per lead, so two requests cannot leave a stale attribution.
            Lead.objects.select_for_update().filter(pk=lead.pk).values_list("pk").first()
        touch = CampaignTouch.objects.create(
            campaign=campaign, kind=kind, at=at, lead=lead, party=party
        )
        member = _member_for(campaign, lead=lead, party=party if lead is None else None)
        response = TOUCH_RESPONSE.get(kind)
        if response is not None and getattr(member, f"{response}_at") is None:
            setattr(member, f"{response}_at", at)
            member.save(update_fields=[f"{response}_at"])
        if lead is not None:
            refresh_lead_attribution(lead)
    return touch


def attribute_deal(deal: Deal) -> DealAttribution | None:
    """Credit ``deal`` to campaigns: from the lead converted into it, else from its customer's
    touches up to the deal's creation. Without any, the deal has no attribution."""
    lead = Lead.objects.filter(converted_deal=deal).order_by("pk").first()
    first_id = last_id = None
    if lead is not None:
        attribution = LeadAttribution.objects.filter(lead=lead).first()
        if attribution is not None:
            first_id, last_id = attribution.first_campaign_id, attribution.last_campaign_id
    if first_id is None and last_id is None:
        party_ids = [pk for pk in (deal.contact_id, deal.organization_id) if pk]
        if party_ids:
            touches = CampaignTouch.objects.filter(party_id__in=party_ids)
            if deal.created_at:
                touches = touches.filter(at__lte=deal.created_at)
            first_id = touches.order_by("at", "pk").values_list("campaign_id", flat=True).first()
            last_id = touches.order_by("-at", "-pk").values_list("campaign_id", flat=True).first()
    if first_id is None and last_id is None:
        DealAttribution.objects.filter(deal=deal).delete()
        return None
    attribution, _created = DealAttribution.objects.update_or_create(
        deal=deal, defaults={"first_campaign_id": first_id, "last_campaign_id": last_id}
    )
    return attribution


# --- permissions ------------------------------------------------------------------------------


def check_add(actor: User | None) -> None:
    if actor is not None and not actor.has_perm("marketing.add"):
        raise PermissionDenied


def check_change(actor: User | None, campaign: Campaign) -> None:
    if actor is not None and not actor.has_perm("marketing.change_record", campaign):
        raise PermissionDenied


# --- campaigns and costs ----------------------------------------------------------------------

CAMPAIGN_FIELDS = (
    "name",
    "code",
    "goal",
    "channel",
    "status",
    "target_segment",
    "target_description",
    "starts_on",
    "ends_on",
    "budget",
    "expected_leads",
    "expected_revenue",
    "event_starts_at",
    "event_location",
    "event_capacity",
    "owner",
    "team",
)


def _validate_campaign(campaign: Campaign) -> None:
    campaign.full_clean()
    if Campaign.objects.filter(code__iexact=campaign.code).exclude(pk=campaign.pk).exists():
        raise ValidationError({"code": _("Another campaign already has this code.")})


@transaction.atomic
def campaign_create(*, actor: User | None, **fields) -> Campaign:
    check_add(actor)
    unknown = set(fields) - set(CAMPAIGN_FIELDS)
    if unknown:
        raise ValidationError({f: _("This field cannot be set.") for f in sorted(unknown)})
    if "owner" not in fields and actor is not None:
        fields["owner"] = actor
    campaign = Campaign(**fields)
    _validate_campaign(campaign)
    campaign.save()
    return campaign


@transaction.atomic
def campaign_update(*, actor: User | None, campaign: Campaign, **fields) -> Campaign:
    check_change(actor, campaign)
    unknown = set(fields) - set(CAMPAIGN_FIELDS)
    if unknown:
        raise ValidationError({f: _("This field cannot be set.") for f in sorted(unknown)})
    for name, value in fields.items():
        setattr(campaign, name, value)
    _validate_campaign(campaign)
    campaign.save()
    return campaign


@transaction.atomic
def campaign_delete(*, actor: User | None, campaign: Campaign) -> None:
    check_change(actor, campaign)
    campaign.delete()


@transaction.atomic
def cost_add(
    *,
    actor: User | None,
    campaign: Campaign,
    date,
    category: str,
    amount: Decimal | str | int,
    note: str = "",
) -> CampaignCost:
    check_change(actor, campaign)
    cost = CampaignCost(
        campaign=campaign,
        date=date,
        category=category,
        amount=Decimal(str(amount)),
        note=note,
        created_by=actor,
    )
    cost.full_clean()
    cost.save()
    return cost


@transaction.atomic
def cost_delete(*, actor: User | None, cost: CampaignCost) -> None:
    check_change(actor, cost.campaign)
    cost.delete()


# --- members and responses --------------------------------------------------------------------


@dataclass
class MembersAdded:
    added: int
    skipped: int


@transaction.atomic
def members_add(
    *,
    actor: User | None,
    campaign: Campaign,
    parties: Iterable[Party] = (),
    leads: Iterable[Lead] = (),
) -> MembersAdded:
    """Add parties and leads as members in one transaction, skipping those already in."""
    check_change(actor, campaign)
    party_ids = {p.pk for p in parties}
    lead_ids = {lead.pk for lead in leads}
    have_parties = set(
        campaign.members.filter(party_id__in=party_ids).values_list("party_id", flat=True)
    )
    have_leads = set(
        campaign.members.filter(lead_id__in=lead_ids).values_list("lead_id", flat=True)
    )
    new = [
        CampaignMember(campaign=campaign, party_id=pk) for pk in sorted(party_ids - have_parties)
    ]
    new += [CampaignMember(campaign=campaign, lead_id=pk) for pk in sorted(lead_ids - have_leads)]
    CampaignMember.objects.bulk_create(new, batch_size=500)
    return MembersAdded(added=len(new), skipped=len(have_parties) + len(have_leads))


def members_add_from_segment(*, actor: User | None, campaign: Campaign, segment) -> MembersAdded:
    """Add every party of ``segment`` (dynamic or static) that is not yet a member."""
    from kreis.marketing.segments.queries import segment_parties

    return members_add(actor=actor, campaign=campaign, parties=segment_parties(segment))


def _response_field(response: str) -> str:
    if response not in ResponseKind.values:
        raise ValidationError({"response": _("Unknown response.")})
    return f"{response}_at"


@transaction.atomic
def members_mark(
    *,
    actor: User | None,
    campaign: Campaign,
    member_ids: Iterable[int],
    response: str,
    at: datetime | None = None,
    clear: bool = False,
) -> int:
    """Set (or clear) one response time on the given members of the campaign; the number
    changed. Marking keeps an earlier time already recorded."""
    check_change(actor, campaign)
    field = _response_field(response)
    members = campaign.members.filter(pk__in=list(member_ids))
    if clear:
        return members.exclude(**{f"{field}__isnull": True}).update(**{field: None})
    return members.filter(**{f"{field}__isnull": True}).update(**{field: at or timezone.now()})


@transaction.atomic
def member_update(
    *, actor: User | None, member: CampaignMember, responses: dict, note: str | None = None
) -> CampaignMember:
    """Set the member's response times (``{"opened": datetime | None, …}``) and note."""
    check_change(actor, member.campaign)
    fields = []
    for response, value in responses.items():
        field = _response_field(response)
        setattr(member, field, value)
        fields.append(field)
    if note is not None:
        member.note = note
        fields.append("note")
    member.full_clean()
    if fields:
        member.save(update_fields=fields)
    return member


@transaction.atomic
def member_remove(*, actor: User | None, member: CampaignMember) -> None:
    check_change(actor, member.campaign)
    member.delete()


# --- events -----------------------------------------------------------------------------------


@dataclass
class Registration:
    member: CampaignMember
    lead: Lead | None
    lead_created: bool


def _check_event(campaign: Campaign) -> None:
    if campaign.channel != CampaignChannel.EVENT:
        raise ValidationError(_("Only events take registrations."))


def _registered_count(campaign: Campaign) -> int:
    return campaign.members.filter(registered_at__isnull=False).count()


def event_places_left(campaign: Campaign) -> int | None:
    if campaign.event_capacity is None:
        return None
    return max(campaign.event_capacity - _registered_count(campaign), 0)


def _lead_for_person(
    *,
    actor: User | None,
    campaign: Campaign,
    first_name: str,
    last_name: str,
    email: str,
    company: str = "",
) -> tuple[Lead, bool]:
    """The existing lead this person duplicates (the duplicate matcher), else a new lead with
    the source "event: <name>"."""
    from kreis.leads import bulk as lead_bulk
    from kreis.leads import services as lead_services

    probe = Lead(first_name=first_name, last_name=last_name, email=email, company=company)
    probe.email = (email or "").strip().lower()
    match = lead_bulk.match_leads(user=actor, leads=[probe])[0]
    if match is not None:
        return Lead.objects.get(pk=match.pk), False
    lead = lead_services.lead_create(
        actor=actor,
        first_name=first_name,
        last_name=last_name,
        email=email,
        company=company,
        source=(_("event: %(name)s") % {"name": campaign.name})[:100],
    )
    return lead, True


@transaction.atomic
def event_register(
    *,
    actor: User | None,
    campaign: Campaign,
    lead: Lead | None = None,
    party: Party | None = None,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    company: str = "",
    at: datetime | None = None,
) -> Registration:
    """Register a person for an event: an existing lead or party, or a name and e-mail (which
    becomes a lead through the duplicate matcher). Records an event touch; refuses a full
    event."""
    check_change(actor, campaign)
    _check_event(campaign)
    Campaign.objects.select_for_update().filter(pk=campaign.pk).values_list("pk").first()
    lead_created = False
    if lead is None and party is None:
        if not last_name.strip():
            raise ValidationError({"last_name": _("Enter the person's last name.")})
        lead, lead_created = _lead_for_person(
            actor=actor,
            campaign=campaign,
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            email=email.strip(),
            company=company.strip(),
        )
    if lead is not None:
        existing = campaign.members.filter(lead=lead).first()
    else:
        existing = campaign.members.filter(party=party).first()
    if existing is not None and existing.registered_at is not None:
        raise ValidationError(_("This person is registered already."))
    left = event_places_left(campaign)
    if left is not None and left <= 0:
        raise ValidationError(
            _("The event is full: all %(places)s places are taken.")
            % {"places": campaign.event_capacity}
        )
    at = at or timezone.now()
    record_touch(campaign=campaign, kind=TouchKind.EVENT, at=at, lead=lead, party=party)
    member = _member_for(campaign, lead=lead, party=None if lead is not None else party)
    member.registered_at = at
    member.save(update_fields=["registered_at"])
    return Registration(member=member, lead=lead, lead_created=lead_created)


@transaction.atomic
def event_attend(
    *, actor: User | None, member: CampaignMember, attended: bool = True, at=None
) -> CampaignMember:
    """Tick (or untick) a member's attendance; ticking records an event touch. A person who
    came without registering takes a place (and is registered) when there is one."""
    campaign = member.campaign
    check_change(actor, campaign)
    _check_event(campaign)
    if not attended:
        member.attended_at = None
        member.save(update_fields=["attended_at"])
        return member
    if member.attended_at is not None:
        return member
    at = at or timezone.now()
    fields = ["attended_at"]
    if member.registered_at is None:
        left = event_places_left(campaign)
        if left is not None and left <= 0:
            raise ValidationError(
                _("The event is full: all %(places)s places are taken.")
                % {"places": campaign.event_capacity}
            )
        member.registered_at = at
        fields.append("registered_at")
    member.attended_at = at
    member.save(update_fields=fields)
    record_touch(
        campaign=campaign,
        kind=TouchKind.EVENT,
        at=at,
        lead=member.lead,
        party=member.party if member.lead_id is None else None,
    )
    return member


def members_of(campaign: Campaign):
    return campaign.members.select_related("lead", "party").filter(
        Q(lead__isnull=True) | Q(lead__deleted_at__isnull=True)
    )


# --- responses from a file --------------------------------------------------------------------


@dataclass
class ResponsesImported:
    updated: int
    added: int
    errors: list[str]


def _parse_when(raw: str, now: datetime) -> datetime | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if raw.lower() in {"x", "yes", "ja", "1", "true"}:
        return now
    moment = datetime.fromisoformat(raw)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _find_person(row: dict) -> tuple[Lead | None, Party | None]:
    from kreis.parties.models import ContactKind, ContactPoint
    from kreis.parties.normalize import normalize_email

    if (row.get("lead_id") or "").strip():
        return Lead.objects.filter(pk=int(row["lead_id"]), deleted_at__isnull=True).first(), None
    if (row.get("party_id") or "").strip():
        return None, Party.objects.filter(pk=int(row["party_id"]), deleted_at__isnull=True).first()
    email = normalize_email(row.get("email") or "")
    if not email:
        return None, None
    lead = (
        Lead.objects.filter(email=email, deleted_at__isnull=True)
        .exclude(status="converted")
        .order_by("pk")
        .first()
    )
    if lead is not None:
        return lead, None
    point = (
        ContactPoint.objects.filter(
            kind=ContactKind.EMAIL, value=email, party__deleted_at__isnull=True
        )
        .order_by("pk")
        .first()
    )
    return None, point.party if point else None


@transaction.atomic
def responses_import(
    *, actor: User | None, campaign: Campaign, rows: Iterable[dict]
) -> ResponsesImported:
    """Set members' response times from rows (a CSV read as dicts): the person by ``lead_id``,
    ``party_id`` or ``email`` (a lead that is not converted, else a contact with that
    address); the columns ``sent``, ``opened``, ``clicked``, ``registered``, ``attended``,
    ``responded`` hold an ISO date/time or ``x`` (now). A person not yet a member is added.
    Rows that cannot be read are reported by line and skipped; an empty cell keeps the time
    already recorded."""
    check_change(actor, campaign)
    now = timezone.now()
    updated = added = 0
    errors: list[str] = []
    for line, row in enumerate(rows, start=2):
        try:
            lead, party = _find_person(row)
        except ValueError:
            errors.append(f"line {line}: the id is not a number")
            continue
        if lead is None and party is None:
            errors.append(f"line {line}: no lead or contact found")
            continue
        times = {}
        try:
            for response in ResponseKind.values:
                when = _parse_when(row.get(response) or "", now)
                if when is not None:
                    times[f"{response}_at"] = when
        except ValueError:
            errors.append(f"line {line}: a time is not an ISO date or time")
            continue
        lookup = {"lead": lead} if lead is not None else {"party": party}
        member = CampaignMember.objects.filter(campaign=campaign, **lookup).first()
        if member is None:
            member = CampaignMember(campaign=campaign, **lookup)
            added += 1
        else:
            updated += 1
        for name, value in times.items():
            setattr(member, name, value)
        member.save()
    return ResponsesImported(updated=updated, added=added, errors=errors)
