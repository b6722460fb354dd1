"""Handoff to sales (DOMAIN.md §4.1, the last phase): a marketing-qualified lead goes to a rep
by the assignment rules, who must make the first contact within the SLA.

Who gets the lead (``pick_assignee``):

1. The first active ``LeadAssignmentRule`` (by position) whose conditions fit the lead — the
   territory equal ignoring case, the product interest equal, the language equal; an empty
   condition fits any lead.
2. Its candidates are its picked users, or, when none are picked, the members of its team —
   only active sales reps and sales managers (who may own leads), in a stable order
   (username, id). A rule with required competencies keeps only those who hold each of its
   active ones at the rule's level or higher (skills, languages, product categories of
   ``kreis.core.competencies``); when nobody does, the next fitting rule is tried.
3. Round-robin: the candidate after the rule's ``last_user`` in that order goes first.
   Anyone whose open leads (new, contacted, qualified; not deleted) reach the rule's
   ``workload_cap`` is skipped; when all are at the cap, the next fitting rule is tried.
4. No rule fits (or every fitting rule is full): round-robin among all active sales reps —
   the rep whose last such fallback handoff is the oldest (never first), ties by username.
   The fallback has no cap: a lead is better with a busy rep than with nobody.

The SLA (``check_sla``, every five minutes): the rep is reminded once when
``reminder_percent`` of the time to the first contact is gone; at the due time the team's
managers (and the rep) are told once (escalation); ``recycle_hours`` after the due time the
handoff is *recycled*: the lead is taken from the rep and handed to the next one by the same
rules — excluding every rep who already let it lapse. When nobody else is left, the lead loses
its owner (it keeps its team) and waits for "Hand off now".

The first contact (``record_first_contact``) is a call, e-mail (not an inbound one) or
meeting logged on the lead by anyone, or the lead moving on (contacted, qualified, converted —
or disqualified: a decision on the lead ends the wait as well). In time when it happens by the
due time, else late.

Only *new* leads are handed off: a lead sales already contacted is in sales' hands.

Why a rep got the lead is stored language-neutrally: a reason code (``rule``: picked by a rule;
``fallback``: no rule fitted or every fitting rule was full) with its parameters (rule name,
conditions, the rep's load and cap, who was skipped; language codes, not language names), as
compact JSON in ``LeadHandoff.reason`` (``reason_encode``). ``reason_text`` words it in the
active language — the reader's on the pages and in the API, the recipient's in a
notification. Handoffs stored before that keep their text (in the language of whoever
triggered them), shown as it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Case, Count, F, Max, Q, Value, When
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from kreis.core.competencies.queries import users_with_competencies
from kreis.core.models import Level, Membership, Notification, Role, Team, User
from kreis.leads import services as lead_services
from kreis.leads.models import Lead, LeadStatus
from kreis.marketing.models import (
    HandoffStatus,
    LeadAssignmentRule,
    LeadHandoff,
    MarketingSettings,
)

OPEN_LEAD_STATUSES = (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED)
# A lead that moved to one of these has been dealt with: the first contact is made.
MET_LEAD_STATUSES = frozenset(
    {
        LeadStatus.CONTACTED,
        LeadStatus.QUALIFIED,
        LeadStatus.CONVERTED,
        LeadStatus.DISQUALIFIED,
    }
)
CONTACT_KINDS = frozenset({"call", "email", "meeting"})
OWNER_ROLES = (Role.SALES_REP, Role.SALES_MANAGER)
REASON_LENGTH = 300


@dataclass
class Pick:
    """Who gets the lead, by which rule (``None``: the fallback), and why: a reason code with
    its parameters (see ``reason_text``)."""

    user: User
    team: Team | None
    rule: LeadAssignmentRule | None
    reason_code: str
    reason_params: dict

    @property
    def reason(self) -> str:
        """Why, in words of the active language."""
        return reason_text(reason_encode(self.reason_code, self.reason_params))


@dataclass
class SlaResult:
    reminded: int = 0
    escalated: int = 0
    recycled: int = 0
    reassigned: int = 0
    unassigned: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {
            "reminded": self.reminded,
            "escalated": self.escalated,
            "recycled": self.recycled,
            "reassigned": self.reassigned,
            "unassigned": len(self.unassigned),
        }


# --- Who gets the lead ------------------------------------------------------------------------


def rule_fits(rule: LeadAssignmentRule, lead: Lead) -> bool:
    """Every condition the rule has equals the lead's (territory ignoring case)."""
    if rule.territory and rule.territory.strip().casefold() != lead.territory.strip().casefold():
        return False
    if rule.product_interest_id and rule.product_interest_id != lead.product_interest_id:
        return False
    return not (rule.language and rule.language != lead.language)


def _conditions(rule: LeadAssignmentRule) -> dict:
    """The rule's conditions as reason parameters: names as entered, the language as a code."""
    conditions = {}
    if rule.territory:
        conditions["territory"] = rule.territory
    if rule.product_interest_id:
        conditions["product"] = str(rule.product_interest)
    if rule.language:
        conditions["language"] = rule.language
    needed = [c.name for c in rule.required_competencies.all() if c.is_active]
    if needed:
        conditions["competencies"] = needed
        conditions["level"] = rule.competency_level
    return conditions


def _conditions_text(params: dict) -> str:
    parts = []
    if params.get("territory"):
        parts.append(_("territory %(value)s") % {"value": params["territory"]})
    if params.get("product"):
        parts.append(_("product %(value)s") % {"value": params["product"]})
    if params.get("language"):
        choices = dict(LeadAssignmentRule._meta.get_field("language").choices or [])
        name = choices.get(params["language"], params["language"])
        parts.append(_("language %(value)s") % {"value": str(name)})
    if params.get("competencies"):
        level = dict(Level.choices).get(params.get("level"), params.get("level"))
        parts.append(
            _("competencies %(names)s at least %(level)s")
            % {"names": ", ".join(params["competencies"]), "level": str(level)}
        )
    return ", ".join(parts) or _("any lead")


# --- The reason, stored language-neutrally ----------------------------------------------------

REASON_RULE, REASON_FALLBACK = "rule", "fallback"
REASON_CODES = (REASON_RULE, REASON_FALLBACK)


def reason_encode(code: str, params: dict) -> str:
    """The reason as compact JSON for ``LeadHandoff.reason`` (at most ``REASON_LENGTH``
    characters: long lists of names and long names are shortened until it fits)."""
    params = dict(params)
    for limit in (None, 60, 30, 12):
        if limit is not None:
            for key, value in params.items():
                if isinstance(value, str):
                    params[key] = value[:limit]
                elif isinstance(value, list):
                    params[key] = [str(v)[:limit] for v in value[:3]]
        text = json.dumps({"code": code, **params}, ensure_ascii=False, separators=(",", ":"))
        if len(text) <= REASON_LENGTH:
            return text
    return json.dumps({"code": code}, separators=(",", ":"))


def reason_decode(stored: str) -> tuple[str, dict] | None:
    """(code, parameters) of a stored reason; None for the free text of older handoffs."""
    if not stored.startswith('{"code":'):
        return None
    try:
        data = json.loads(stored)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("code") not in REASON_CODES:
        return None
    code = data.pop("code")
    return code, data


def reason_text(stored: str) -> str:
    """A stored reason in words of the active language; older free text as it is."""
    decoded = reason_decode(stored)
    if decoded is None:
        return stored
    code, params = decoded
    if code == REASON_RULE:
        words = []
        if "rule" in params:
            words.append(
                _("Rule “%(rule)s” — %(conditions)s")
                % {"rule": params["rule"], "conditions": _conditions_text(params)}
            )
        words.append(_("round-robin"))
        if params.get("cap") is not None and "name" in params:
            words.append(
                _("%(name)s had %(load)d of %(cap)d open leads")
                % {"name": params["name"], "load": params.get("load", 0), "cap": params["cap"]}
            )
        if params.get("skipped"):
            words.append(
                _("skipped at the cap: %(names)s") % {"names": ", ".join(params["skipped"])}
            )
        return "; ".join(words)
    if params.get("full_rules"):
        why = _("Every user of the fitting rules is at the cap (%(rules)s)") % {
            "rules": ", ".join(params["full_rules"])
        }
    else:
        why = _("No rule fits")
    return "; ".join([why, _("round-robin among all sales reps")])


def rule_candidates(rule: LeadAssignmentRule) -> list[User]:
    """The rule's picked users, else its team's members: active reps and sales managers —
    with required competencies only those who hold each active one at the rule's level."""
    users = User.objects.filter(is_active=True, role__in=OWNER_ROLES)
    if rule.users.exists():
        users = users.filter(pk__in=rule.users.values("pk"))
    elif rule.team_id is not None:
        users = users.filter(memberships__team_id=rule.team_id)
    else:
        return []
    needed = [c.pk for c in rule.required_competencies.all() if c.is_active]
    if needed:
        users = users_with_competencies(users, competency_ids=needed, level=rule.competency_level)
    return list(users.order_by("username", "pk").distinct())


def _rotated(candidates: list[User], last_user_id: int | None) -> list[User]:
    """The candidates in round-robin order: the one after ``last_user`` first."""
    if last_user_id is None:
        return candidates
    ids = [u.pk for u in candidates]
    if last_user_id in ids:
        start = ids.index(last_user_id) + 1
    else:  # the last one left the rule: continue after their place in the order
        last = User.objects.filter(pk=last_user_id).values_list("username", flat=True).first()
        start = next((i for i, u in enumerate(candidates) if last and u.username > last), 0)
    return candidates[start:] + candidates[:start]


def open_lead_counts(user_ids: list[int]) -> dict[int, int]:
    """Open leads (new, contacted, qualified; not deleted) per owner."""
    rows = (
        Lead.objects.filter(
            owner_id__in=user_ids, status__in=OPEN_LEAD_STATUSES, deleted_at__isnull=True
        )
        .values("owner_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["owner_id"]: row["n"] for row in rows}


def _name(user: User) -> str:
    return user.get_full_name() or user.username


def _team_for(user: User, preferred: Team | None) -> Team | None:
    if preferred is not None and Membership.objects.filter(team=preferred, user=user).exists():
        return preferred
    return Team.objects.filter(memberships__user=user).order_by("pk").first()


def _pick_by_rule(rule: LeadAssignmentRule, exclude: set[int]) -> Pick | None:
    candidates = [u for u in rule_candidates(rule) if u.pk not in exclude]
    if not candidates:
        return None
    order = _rotated(candidates, rule.last_user_id)
    counts = open_lead_counts([u.pk for u in order]) if rule.workload_cap is not None else {}
    skipped = []
    for user in order:
        load = counts.get(user.pk, 0)
        if rule.workload_cap is not None and load >= rule.workload_cap:
            skipped.append(user)
            continue
        params: dict = {"rule": rule.name, **_conditions(rule)}
        if rule.workload_cap is not None:
            params |= {"name": _name(user), "load": load, "cap": rule.workload_cap}
        if skipped:
            params["skipped"] = [_name(u) for u in skipped]
        return Pick(
            user=user,
            team=_team_for(user, rule.team),
            rule=rule,
            reason_code=REASON_RULE,
            reason_params=params,
        )
    return None


def _pick_fallback(exclude: set[int], full_rules: list[str]) -> Pick | None:
    reps = (
        User.objects.filter(is_active=True, role=Role.SALES_REP)
        .exclude(pk__in=exclude)
        .annotate(
            last_handoff=Max(
                "lead_handoffs__assigned_at", filter=Q(lead_handoffs__rule__isnull=True)
            )
        )
        .order_by(F("last_handoff").asc(nulls_first=True), "username", "pk")
    )
    user = reps.first()
    if user is None:
        return None
    return Pick(
        user=user,
        team=_team_for(user, None),
        rule=None,
        reason_code=REASON_FALLBACK,
        reason_params={"full_rules": full_rules} if full_rules else {},
    )


def pick_assignee(lead: Lead, *, exclude: set[int] | frozenset[int] = frozenset()) -> Pick | None:
    """Who gets the lead by the rules (see the module's docstring); ``None`` when nobody can."""
    exclude = set(exclude)
    full_rules = []
    for rule in (
        LeadAssignmentRule.objects.filter(is_active=True)
        .select_related("product_interest", "team")
        .prefetch_related("required_competencies")
    ):
        if not rule_fits(rule, lead):
            continue
        pick = _pick_by_rule(rule, exclude)
        if pick is not None:
            return pick
        full_rules.append(rule.name)
    return _pick_fallback(exclude, full_rules)


# --- The handoff ------------------------------------------------------------------------------


def _notify(user: User, *, title: str, body: str, url: str, level: str) -> None:
    Notification.objects.create(user=user, title=title, body=body, url=url, level=level)


def _when(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def _in_language(user: User):
    return translation.override(user.language or settings.LANGUAGE_CODE)


def may_hand_off(user: User, lead: Lead) -> bool:
    return bool(user.has_perm("marketing.hand_off", lead))


def hand_off(
    lead: Lead,
    *,
    now: datetime | None = None,
    actor: User | None = None,
    exclude: set[int] | frozenset[int] = frozenset(),
) -> LeadHandoff | None:
    """Hand a new lead to the next rep by the rules, in one transaction: the lead's owner and
    team, a ``LeadHandoff`` due ``first_contact_hours`` later, the rule's round-robin position,
    and a notification to the rep.

    ``None`` (and nothing changes) when the lead is not new, deleted, already waiting for a
    first contact, or nobody can take it. ``actor``: who asked (checked against
    ``marketing.hand_off``); ``None`` for the system (the MQL signal, the SLA job).
    """
    now = now or timezone.now()
    if actor is not None and not may_hand_off(actor, lead):
        raise PermissionDenied
    with transaction.atomic():
        locked = Lead.objects.select_for_update().filter(pk=lead.pk).first()
        if locked is None or locked.deleted_at is not None or locked.status != LeadStatus.NEW:
            return None
        if LeadHandoff.objects.filter(lead=locked, status=HandoffStatus.OPEN).exists():
            return None
        # Round-robin positions are shared: hold the rules while one is chosen and moved on.
        list(LeadAssignmentRule.objects.select_for_update().filter(is_active=True))
        pick = pick_assignee(locked, exclude=exclude)
        if pick is None:
            return None
        hours = MarketingSettings.load().first_contact_hours
        lead_services.lead_assign(actor=None, lead=locked, owner=pick.user, team=pick.team)
        handoff = LeadHandoff.objects.create(
            lead=locked,
            assigned_to=pick.user,
            team=pick.team,
            rule=pick.rule,
            reason=reason_encode(pick.reason_code, pick.reason_params),
            assigned_at=now,
            due_at=now + timedelta(hours=hours),
        )
        if pick.rule is not None:
            LeadAssignmentRule.objects.filter(pk=pick.rule.pk).update(last_user=pick.user)
        with _in_language(pick.user):
            _notify(
                pick.user,
                title=_("New lead for you: %(lead)s") % {"lead": locked},
                body=_("Make the first contact by %(due)s. %(reason)s")
                % {"due": _when(handoff.due_at), "reason": reason_text(handoff.reason)},
                url=f"/leads/{locked.pk}/",
                level=Notification.Level.INFO,
            )
    lead.owner_id, lead.team_id = locked.owner_id, locked.team_id
    return handoff


def handoff_for_lead(lead: Lead) -> LeadHandoff | None:
    """The lead's open handoff, else its latest."""
    handoffs = LeadHandoff.objects.filter(lead=lead).select_related("assigned_to", "team", "rule")
    return handoffs.filter(status=HandoffStatus.OPEN).first() or handoffs.first()


# --- The first contact ------------------------------------------------------------------------


def record_first_contact(*, lead_id: int, at: datetime | None = None) -> int:
    """The lead's open handoff is met at ``at``: in time up to the due time, late after it.
    One conditional ``UPDATE`` (only open handoffs change), so a second call does nothing."""
    at = at or timezone.now()
    return LeadHandoff.objects.filter(lead_id=lead_id, status=HandoffStatus.OPEN).update(
        first_contact_at=at,
        status=Case(
            When(due_at__gte=at, then=Value(HandoffStatus.CONTACTED)),
            default=Value(HandoffStatus.LATE),
        ),
    )


# --- The SLA job ------------------------------------------------------------------------------


def _open_handoffs():
    return LeadHandoff.objects.filter(
        status=HandoffStatus.OPEN, lead__deleted_at__isnull=True
    ).select_related("lead", "assigned_to", "team")


def team_managers(team_id: int | None) -> list[User]:
    """The active managers of the team; the administrators when it has none (someone must
    hear of a lead nobody called)."""
    managers = []
    if team_id is not None:
        managers = list(
            User.objects.filter(
                is_active=True, memberships__team_id=team_id, memberships__is_manager=True
            ).order_by("username")
        )
    if not managers:
        managers = list(
            User.objects.filter(Q(role=Role.ADMIN) | Q(is_superuser=True), is_active=True)
        )
    return managers


def _remind(handoff: LeadHandoff, now: datetime) -> bool:
    with transaction.atomic():
        if not LeadHandoff.objects.filter(
            pk=handoff.pk, status=HandoffStatus.OPEN, reminded_at__isnull=True
        ).update(reminded_at=now):
            return False
        rep = handoff.assigned_to
        if rep is not None and rep.is_active:
            with _in_language(rep):
                _notify(
                    rep,
                    title=_("First contact due soon: %(lead)s") % {"lead": handoff.lead},
                    body=_("Please contact the lead by %(due)s.") % {"due": _when(handoff.due_at)},
                    url=f"/leads/{handoff.lead_id}/",
                    level=Notification.Level.WARNING,
                )
    return True


def _escalate(handoff: LeadHandoff, now: datetime) -> bool:
    with transaction.atomic():
        if not LeadHandoff.objects.filter(
            pk=handoff.pk, status=HandoffStatus.OPEN, escalated_at__isnull=True
        ).update(escalated_at=now):
            return False
        rep = handoff.assigned_to
        rep_name = _name(rep) if rep else "—"
        for manager in team_managers(handoff.lead.team_id or handoff.team_id):
            if rep is not None and manager.pk == rep.pk:
                continue
            with _in_language(manager):
                _notify(
                    manager,
                    title=_("Lead not contacted in time: %(lead)s") % {"lead": handoff.lead},
                    body=_("%(rep)s was to contact the lead by %(due)s.")
                    % {"rep": rep_name, "due": _when(handoff.due_at)},
                    url=f"/leads/{handoff.lead_id}/",
                    level=Notification.Level.WARNING,
                )
        if rep is not None and rep.is_active:
            with _in_language(rep):
                _notify(
                    rep,
                    title=_("First contact overdue: %(lead)s") % {"lead": handoff.lead},
                    body=_("It was due %(due)s; your team manager has been told.")
                    % {"due": _when(handoff.due_at)},
                    url=f"/leads/{handoff.lead_id}/",
                    level=Notification.Level.WARNING,
                )
    return True


def _recycle(handoff: LeadHandoff, now: datetime, result: SlaResult) -> bool:
    with transaction.atomic():
        if not LeadHandoff.objects.filter(pk=handoff.pk, status=HandoffStatus.OPEN).update(
            status=HandoffStatus.RECYCLED, recycled_at=now
        ):
            return False
        result.recycled += 1
        lead = handoff.lead
        missed = set(
            LeadHandoff.objects.filter(lead=lead, status=HandoffStatus.RECYCLED)
            .exclude(assigned_to__isnull=True)
            .values_list("assigned_to_id", flat=True)
        )
        new = hand_off(lead, now=now, exclude=missed)
        rep = handoff.assigned_to
        if new is None:
            # Nobody else can take it: the lead leaves the rep and waits, ownerless, in its team.
            Lead.objects.filter(pk=lead.pk, owner_id=handoff.assigned_to_id).update(
                owner=None, updated_at=now
            )
            result.unassigned.append(lead.pk)
        else:
            result.reassigned += 1
        if rep is not None and rep.is_active:
            with _in_language(rep):
                _notify(
                    rep,
                    title=_("Lead taken back: %(lead)s") % {"lead": lead},
                    body=_("Nobody contacted it by %(due)s.") % {"due": _when(handoff.due_at)},
                    url=f"/leads/{lead.pk}/",
                    level=Notification.Level.WARNING,
                )
        for manager in team_managers(lead.team_id or handoff.team_id):
            with _in_language(manager):
                if new is None:
                    body = _("Nobody else can take it: it has no owner now.")
                else:
                    body = _("It went to %(rep)s.") % {"rep": _name(new.assigned_to)}
                _notify(
                    manager,
                    title=_("Lead recycled: %(lead)s") % {"lead": lead},
                    body=body,
                    url=f"/leads/{lead.pk}/",
                    level=Notification.Level.WARNING,
                )
    return True


def check_sla(*, now: datetime | None = None) -> SlaResult:
    """Remind, escalate and recycle the open handoffs whose time has come (see the module's
    docstring). Each step claims its handoff with a conditional ``UPDATE`` first, in its own
    transaction with the notifications, so two runs at the same time never act twice and a
    second run does nothing new."""
    now = now or timezone.now()
    config = MarketingSettings.load()
    result = SlaResult()
    recycle_before = now - timedelta(hours=config.recycle_hours)
    for handoff in _open_handoffs().filter(due_at__lte=recycle_before).order_by("due_at", "pk"):
        _recycle(handoff, now, result)
    for handoff in (
        _open_handoffs().filter(due_at__lte=now, escalated_at__isnull=True).order_by("due_at")
    ):
        result.escalated += _escalate(handoff, now)
    for handoff in (
        _open_handoffs().filter(due_at__gt=now, reminded_at__isnull=True).order_by("due_at")
    ):
        window = handoff.due_at - handoff.assigned_at
        if handoff.assigned_at + window * (config.reminder_percent / 100) <= now:
            result.reminded += _remind(handoff, now)
    return result


# --- Rules and settings -----------------------------------------------------------------------


def rule_save(
    *,
    actor: User | None,
    rule: LeadAssignmentRule,
    values: dict,
    users: list[User] | None = None,
    competencies: list | None = None,
) -> LeadAssignmentRule:
    """Create or change an assignment rule (validated as a whole; nothing saved on error).
    ``competencies``: the required competencies (``None`` keeps them)."""
    if actor is not None and not actor.has_perm("marketing.change_handoff_rules"):
        raise PermissionDenied
    for name, value in values.items():
        setattr(rule, name, value)
    rule.territory = (rule.territory or "").strip()
    rule.full_clean(exclude=["users", "last_user"])
    with transaction.atomic():
        rule.save()
        if users is not None:
            rule.users.set(users)
        if competencies is not None:
            rule.required_competencies.set(competencies)
    return rule


def rule_delete(*, actor: User | None, rule: LeadAssignmentRule) -> None:
    if actor is not None and not actor.has_perm("marketing.change_handoff_rules"):
        raise PermissionDenied
    rule.delete()


def rules_reorder(*, actor: User | None, ids: list[int]) -> None:
    """Positions 10, 20, 30 … in the given order (rules not named keep theirs, after them)."""
    if actor is not None and not actor.has_perm("marketing.change_handoff_rules"):
        raise PermissionDenied
    with transaction.atomic():
        for index, pk in enumerate(ids, start=1):
            LeadAssignmentRule.objects.filter(pk=pk).update(position=index * 10)


SETTINGS_FIELDS = ("first_contact_hours", "reminder_percent", "recycle_hours")


def settings_update(*, actor: User | None, **values: int) -> MarketingSettings:
    """The handoff's SLA settings; only administrators (``marketing.configure``)."""
    if actor is not None and not actor.has_perm("marketing.configure"):
        raise PermissionDenied
    config = MarketingSettings.load()
    for name, value in values.items():
        if name not in SETTINGS_FIELDS:
            raise ValueError(name)
        setattr(config, name, value)
    config.full_clean()
    config.save(update_fields=list(values) or None)
    return config
