"""Writes of complaint cases: typed, keyword-only, atomic, permission-checked.

The status follows one flow (``TRANSITIONS``), changed only through ``case_transition``, which
writes a ``CaseTransition`` (who, when, from, to, note). On creation a case gets its number,
its owner (``assign_owner``: the first matching ``AssignmentRule``, else round-robin among the
service agents) and its due dates (``due_dates``: the ``SlaPolicy`` of its severity, in
business hours, ``kreis.service.sla``); the customer gets an acknowledgement e-mail in their
language when they have an e-mail address (sent after the commit). The acknowledgement e-mail
confirms receipt; the case is *acknowledged* when its owner takes it up (the SLA's "time to
acknowledge").
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from kreis.commerce.models import Product
from kreis.core.competencies.queries import users_with_competencies
from kreis.core.models import Competency, Role, Team, User
from kreis.core.search import index_record
from kreis.core.services import check_assignment
from kreis.parties.models import ContactKind, ContactPoint, Party, PartyKind
from kreis.parties.normalize import normalize_email, normalize_phone
from kreis.service import rating
from kreis.service.mail import customer_email, send_customer_mail
from kreis.service.models import (
    Case,
    CaseCategory,
    CaseCounter,
    CaseMessage,
    CaseStatus,
    CaseTransition,
    Channel,
    MessageKind,
    RootCause,
    Severity,
    SlaPolicy,
    TransitionEvent,
)
from kreis.service.sla import BusinessCalendar, add_business_hours, business_hours_between

log = logging.getLogger("kreis.service")

S = CaseStatus
# Where a case may go from each status: the main flow, back to work from a proposal the
# customer did not accept, and reopening a resolved or closed case.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.RECEIVED: (S.ACKNOWLEDGED, S.IN_PROGRESS),
    S.ACKNOWLEDGED: (S.IN_PROGRESS,),
    S.IN_PROGRESS: (S.SOLUTION_PROPOSED, S.RESOLVED),
    S.SOLUTION_PROPOSED: (S.IN_PROGRESS, S.RESOLVED),
    S.RESOLVED: (S.CLOSED, S.IN_PROGRESS),
    S.CLOSED: (S.IN_PROGRESS,),
}
REOPENED_FROM = (S.RESOLVED, S.CLOSED)

# Used when no SlaPolicy is configured for a severity: (hours to acknowledge, to resolve).
DEFAULT_SLA_HOURS = {
    Severity.LOW: (16, 80),
    Severity.MEDIUM: (8, 40),
    Severity.HIGH: (4, 16),
    Severity.CRITICAL: (1, 8),
}


def allowed_transitions(case: Case) -> tuple[str, ...]:
    return TRANSITIONS[case.status]


def _check_change(actor: User | None, case: Case) -> None:
    if actor is not None and not actor.has_perm("service.change_case", case):
        raise PermissionDenied


# --- Numbering, assignment, SLA --------------------------------------------------------------


def next_case_number(*, year: int) -> str:
    """``C-<year>-<6 digits>`` from the year's counter. The UPDATE … SET last = last + 1 locks
    the counter's row until the transaction ends, so two cases never get the same number."""
    with transaction.atomic():
        if not CaseCounter.objects.filter(year=year).update(last=F("last") + 1):
            try:
                with transaction.atomic():
                    CaseCounter.objects.create(year=year, last=1)
            except IntegrityError:  # created meanwhile by a concurrent first case of the year
                CaseCounter.objects.filter(year=year).update(last=F("last") + 1)
        last = CaseCounter.objects.values_list("last", flat=True).get(year=year)
    return f"C-{year}-{last:06d}"


def _next_agent(
    team: Team | None, *, competency_ids: list[int] | None = None, level: int = 1
) -> User | None:
    """Round-robin: the active service agent (of ``team``, or of all) who got a case least
    recently (never first), ties by id; with ``competency_ids`` only agents who hold each of
    them at ``level`` or higher (a subquery of the same query)."""
    agents = User.objects.filter(role=Role.SERVICE_AGENT, is_active=True)
    if team is not None:
        agents = agents.filter(memberships__team=team)
    if competency_ids:
        agents = users_with_competencies(agents, competency_ids=competency_ids, level=level)
    return (
        agents.annotate(last_case=Max("owned_cases__created_at"))
        .order_by(F("last_case").asc(nulls_first=True), "pk")
        .first()
    )


def _first_team(user: User) -> Team | None:
    return Team.objects.filter(memberships__user=user).order_by("pk").first()


def assign_owner(
    *, category: CaseCategory, product: Product | None, region: str
) -> tuple[User | None, Team | None]:
    """Owner and team of a new case: the first active rule (by position) whose category,
    product and region match (blank = any) gives its user, or the next service agent of its
    team; without a matching rule the next of all service agents. (None, None) when there is
    no service agent at all.

    A rule with required competencies (``kreis.core.competencies``) gives the case only to
    someone who holds each of its active ones at the rule's level or higher: its user if they
    do, else the next such agent of its team; when nobody qualifies the next rule is tried."""
    from kreis.service.models import AssignmentRule

    rules_ = AssignmentRule.objects.filter(is_active=True).select_related(
        "assign_user", "assign_team"
    )
    rules_ = rules_.prefetch_related(
        Prefetch(
            "required_competencies",
            queryset=Competency.objects.filter(is_active=True).only("pk"),
        )
    )
    for rule in rules_:
        if rule.category_id and rule.category_id != category.pk:
            continue
        if rule.product_id and (product is None or rule.product_id != product.pk):
            continue
        if rule.region and rule.region.strip().lower() != (region or "").strip().lower():
            continue
        needed = [c.pk for c in rule.required_competencies.all()]
        if (
            rule.assign_user is not None
            and rule.assign_user.is_active
            and (
                not needed
                or users_with_competencies(
                    User.objects.filter(pk=rule.assign_user.pk),
                    competency_ids=needed,
                    level=rule.competency_level,
                ).exists()
            )
        ):
            return rule.assign_user, rule.assign_team or _first_team(rule.assign_user)
        if rule.assign_team is not None:
            agent = _next_agent(
                rule.assign_team, competency_ids=needed, level=rule.competency_level
            )
            if agent is not None:
                return agent, rule.assign_team
    agent = _next_agent(None)
    return (agent, _first_team(agent)) if agent else (None, None)


def sla_for(severity: str) -> tuple[int, int, BusinessCalendar]:
    policy = SlaPolicy.objects.filter(severity=severity).first()
    if policy is None:
        ack, resolve = DEFAULT_SLA_HOURS[Severity(severity)]
        return ack, resolve, BusinessCalendar()
    return (
        policy.hours_to_acknowledge,
        policy.hours_to_resolve,
        BusinessCalendar.from_policy(policy),
    )


def due_dates(*, severity: str, start: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """(acknowledge by, resolve by): the SLA of the severity in business hours from ``start``."""
    ack, resolve, calendar = sla_for(severity)
    return add_business_hours(start, ack, calendar), add_business_hours(start, resolve, calendar)


# --- The sender -----------------------------------------------------------------------------


def _normalized(value: str, normalize) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    try:
        return normalize(value)
    except ValidationError:
        return ""


def party_for_sender(
    *,
    actor: User | None,
    name: str,
    email: str = "",
    phone: str = "",
    create_anyway: bool = False,
) -> Party:
    """The known party with this e-mail address or phone number; otherwise a new person —
    after the duplicate check: a likely duplicate (similar name) stops it unless
    ``create_anyway``."""
    from kreis.parties.queries import likely_duplicates
    from kreis.parties.services import party_create

    values = [
        v for v in (_normalized(email, normalize_email), _normalized(phone, normalize_phone)) if v
    ]
    if values:
        point = (
            ContactPoint.objects.filter(
                kind__in=(ContactKind.EMAIL, ContactKind.PHONE),
                value__in=values,
                party__deleted_at__isnull=True,
            )
            .select_related("party")
            .order_by("pk")
            .first()
        )
        if point is not None:
            return point.party
    name = (name or "").strip()
    if not name:
        raise ValidationError({"sender_name": _("Give the customer's name.")})
    if actor is not None and not create_anyway:
        found = likely_duplicates(
            user=actor, kind=PartyKind.PERSON, name=name, emails=[email], phones=[phone]
        )
        if found:
            names = ", ".join(f"{p.name} (#{p.pk})" for p, _reason in found.visible)
            if found.hidden_count:
                names = ", ".join(
                    x for x in (names, _("%d not visible to you") % found.hidden_count) if x
                )
            raise ValidationError(
                {
                    "sender_name": _(
                        "This customer may already exist: %s. Choose the party, or confirm "
                        "that this is a new person."
                    )
                    % names
                }
            )
    first, _sep, last = name.rpartition(" ")
    return party_create(
        actor=actor,
        kind=PartyKind.PERSON,
        first_name=first,
        last_name=last or name,
        emails=[{"value": email}] if email.strip() else [],
        phones=[{"value": phone}] if phone.strip() else [],
        roles=["customer"],
        source=_("Complaint"),
    )


# --- Creating -------------------------------------------------------------------------------


def _transition_row(
    case: Case,
    actor: User | None,
    before: str,
    note: str = "",
    event: str = TransitionEvent.STATUS,
) -> None:
    CaseTransition.objects.create(
        case=case,
        actor=actor,
        event=event,
        from_status=before,
        to_status=case.status,
        note=note.strip()[:500],
    )


def _save(case: Case) -> None:
    case.full_clean(exclude=["number", "owner", "team", "party", "contact", "product"])
    case.save()
    index_record(case)


@transaction.atomic
def case_create(
    *,
    actor: User | None,
    channel: str,
    category: CaseCategory,
    subject: str,
    party: Party | None = None,
    sender_name: str = "",
    sender_email: str = "",
    sender_phone: str = "",
    create_new_party: bool = False,
    contact: Party | None = None,
    description: str = "",
    severity: str = Severity.MEDIUM,
    product: Product | None = None,
    region: str = "",
    language: str = "",
    owner: User | None = None,
    team: Team | None = None,
    acknowledge: bool = True,
) -> Case:
    """Accept a complaint: number, owner, due dates, the first transition, the acknowledgement.

    The customer is ``party`` (one the actor may see) or found by the sender's e-mail/phone,
    else created as a new person after the duplicate check (``party_for_sender``).
    ``acknowledge=False`` (demo data, imports of old cases) sends no e-mail."""
    if actor is not None and actor.is_read_only:
        raise PermissionDenied
    if channel not in Channel.values:
        raise ValidationError({"channel": _("Unknown channel.")})
    if severity not in Severity.values:
        raise ValidationError({"severity": _("Unknown severity.")})
    if party is None:
        party = party_for_sender(
            actor=actor,
            name=sender_name,
            email=sender_email,
            phone=sender_phone,
            create_anyway=create_new_party,
        )
    elif actor is not None and not actor.has_perm("core.view_record", party):
        raise ValidationError({"party_id": _("Choose a party you may see.")})
    if party.deleted_at is not None:
        raise ValidationError({"party_id": _("This party was deleted.")})
    if contact is not None and (
        contact.kind != PartyKind.PERSON
        or (actor is not None and not actor.has_perm("core.view_record", contact))
    ):
        raise ValidationError({"contact_id": _("Choose a person you may see.")})
    region = (region or party.territory or "").strip()
    if owner is not None or team is not None:
        check_assignment(actor=actor, owner=owner, team=team)
    else:
        owner, team = assign_owner(category=category, product=product, region=region)
        if owner is None and actor is not None:  # no service agent: the one who took it
            owner, team = actor, _first_team(actor)
    if language not in dict(settings.LANGUAGES):
        language = (actor.language if actor else "") or settings.LANGUAGE_CODE
    now = timezone.now()
    ack_due, resolve_due = due_dates(severity=severity, start=now)
    case = Case(
        number=next_case_number(year=timezone.localdate(now).year),
        party=party,
        contact=contact,
        channel=channel,
        category=category,
        product=product,
        region=region,
        severity=severity,
        subject=(subject or "").strip(),
        description=(description or "").strip(),
        language=language,
        owner=owner,
        team=team,
        ack_due_at=ack_due,
        resolve_due_at=resolve_due,
    )
    _save(case)
    _transition_row(case, actor, "", event=TransitionEvent.RECEIVED)
    if acknowledge and customer_email(case):
        body = send_customer_mail(case, template="acknowledgement")
        CaseMessage.objects.create(case=case, kind=MessageKind.CUSTOMER_REPLY, body=body)
    return case


# --- Processing -----------------------------------------------------------------------------


def _resume_clock(case: Case, now: dt.datetime) -> None:
    """End a wait for the customer: the due dates move by the business hours it lasted."""
    if not case.waiting_for_customer:
        return
    _ack, _resolve, calendar = sla_for(case.severity)
    paused = business_hours_between(case.waiting_since or now, now, calendar)
    if case.acknowledged_at is None and case.ack_due_at:
        case.ack_due_at = add_business_hours(case.ack_due_at, paused, calendar)
    if case.resolved_at is None and case.resolve_due_at:
        case.resolve_due_at = add_business_hours(case.resolve_due_at, paused, calendar)
    case.paused_seconds += round(paused * 3600)
    case.waiting_for_customer = False
    case.waiting_since = None


@transaction.atomic
def case_transition(
    *,
    actor: User | None,
    case: Case,
    to_status: str,
    note: str = "",
    root_cause: RootCause | None = None,
    base_url: str = "",
) -> Case:
    """Move the case along its flow (``TRANSITIONS``) and record who, when, from, to and why.
    Resolving needs the root cause; reopening (from resolved or closed) needs a note.

    Closing sends the customer the closing e-mail with a personal rating link
    (``kreis.service.rating``) under ``base_url``, the address Kreis is reached at (the web
    page and the API pass the request's); without it (demo data, imports) no e-mail goes out.
    Reopening ends the rating links not used yet."""
    _check_change(actor, case)
    case = Case.objects.select_for_update().get(pk=case.pk)
    before = case.status
    if to_status not in TRANSITIONS.get(before, ()):
        raise ValidationError(
            {
                "to_status": _("A case cannot go from “%(from)s” to “%(to)s”.")
                % {"from": case.get_status_display(), "to": to_status}
            }
        )
    if to_status == S.RESOLVED:
        if root_cause is None and case.root_cause_id is None:
            raise ValidationError({"root_cause_id": _("Give the root cause to resolve a case.")})
    if before in REOPENED_FROM and to_status == S.IN_PROGRESS and not note.strip():
        raise ValidationError({"note": _("Say why the case is reopened.")})
    now = timezone.now()
    if root_cause is not None:
        case.root_cause = root_cause
    if case.acknowledged_at is None and to_status != S.RECEIVED:
        case.acknowledged_at = now
    if to_status in (S.RESOLVED, S.CLOSED):
        _resume_clock(case, now)
    if to_status == S.RESOLVED:
        case.resolved_at = now
    elif to_status == S.CLOSED:
        case.closed_at = now
    elif before in REOPENED_FROM:
        case.resolved_at = None
        case.closed_at = None
    case.status = to_status
    case._change_reason = note[:100]  # type: ignore[attr-defined]
    _save(case)
    _transition_row(case, actor, before, note)
    if to_status == S.CLOSED and base_url:
        rating.closing_mail_send(case=case, base_url=base_url, now=now)
    elif before in REOPENED_FROM:
        rating.rating_links_end(case=case, now=now)
    return case


@transaction.atomic
def case_set_waiting(*, actor: User | None, case: Case, waiting: bool, note: str = "") -> Case:
    """Wait for the customer (the SLA clock stops) or stop waiting (it runs on, the due dates
    moved by the business hours of the pause)."""
    _check_change(actor, case)
    case = Case.objects.select_for_update().get(pk=case.pk)
    if not case.is_open:
        raise ValidationError({"waiting": _("Only an open case can wait for the customer.")})
    if waiting == case.waiting_for_customer:
        return case
    now = timezone.now()
    if waiting:
        case.waiting_for_customer = True
        case.waiting_since = now
    else:
        _resume_clock(case, now)
    _save(case)
    event = TransitionEvent.WAIT if waiting else TransitionEvent.RESUME
    _transition_row(case, actor, case.status, note, event=event)
    return case


def _message(actor: User | None, case: Case, kind: str, body: str) -> CaseMessage:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Write something.")})
    return CaseMessage.objects.create(case=case, kind=kind, author=actor, body=body)


@transaction.atomic
def case_add_note(*, actor: User | None, case: Case, body: str) -> CaseMessage:
    """An internal note: for staff only, never shown or sent to the customer."""
    _check_change(actor, case)
    return _message(actor, case, MessageKind.INTERNAL_NOTE, body)


@transaction.atomic
def case_reply(*, actor: User | None, case: Case, body: str) -> CaseMessage:
    """A reply to the customer: kept on the case and e-mailed when they have an address."""
    _check_change(actor, case)
    message = _message(actor, case, MessageKind.CUSTOMER_REPLY, body)
    if customer_email(case):
        send_customer_mail(case, template="reply", extra={"message": message})
    return message


@transaction.atomic
def case_add_customer_message(*, actor: User | None, case: Case, body: str) -> CaseMessage:
    """What the customer said (by phone, letter, e-mail): a case waiting for them runs on."""
    _check_change(actor, case)
    message = _message(actor, case, MessageKind.CUSTOMER_MESSAGE, body)
    if case.waiting_for_customer:
        case_set_waiting(actor=actor, case=case, waiting=False)
    return message


@transaction.atomic
def case_assign(
    *, actor: User | None, case: Case, owner: User | None, team: Team | None = None
) -> Case:
    """Give the case to another owner (and team). Who may give to whom:
    ``kreis.core.services.check_assignment``."""
    _check_change(actor, case)
    if owner is not None and not owner.is_active:
        raise ValidationError({"owner_id": _("This user is inactive.")})
    check_assignment(actor=actor, owner=owner, team=team)
    case.owner = owner
    if team is not None:
        case.team = team
    elif owner is not None and case.team_id not in set(
        owner.memberships.values_list("team_id", flat=True)
    ):
        case.team = _first_team(owner)
    _save(case)
    return case
