"""Reads of the handoff to sales, permission-aware: pages, API and CLI fetch through these.

Who sees which handoffs (``handoffs_for_user``): administrators and marketing users all; sales
managers and read-only users those of their teams (and their own); a sales rep his own.

The SLA compliance report (``compliance_report``) counts the handoffs *assigned* in the period
per rep and per team:

- *in time*: contacted by the due time; *late*: contacted after it; *recycled*: nobody
  contacted the lead before it was taken back; *open*: still waiting.
- compliance % = in time ÷ (handoffs − open ones not yet due): a handoff still open past its
  due time counts against the rep already; one still within its time is not judged yet.
- median time to first contact: over the contacted (in time and late) handoffs.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from kreis.core.models import Role, User
from kreis.leads.models import Lead, LeadStatus
from kreis.marketing.models import HandoffStatus, LeadAssignmentRule, LeadHandoff


def _sees_all(user: User) -> bool:
    return user.is_admin or (user.is_active and user.role == Role.MARKETING)


def handoffs_for_user(*, user: User | None) -> QuerySet[LeadHandoff]:
    """The handoffs the user may see (none without ``marketing.view_handoffs``); ``None``:
    the system (the CLI), which sees all."""
    qs = LeadHandoff.objects.filter(lead__deleted_at__isnull=True)
    if user is None:
        return qs
    if not user.has_perm("marketing.view_handoffs"):
        return qs.none()
    if _sees_all(user):
        return qs
    if user.role in (Role.SALES_MANAGER, Role.READ_ONLY):
        return qs.filter(Q(team_id__in=user.team_ids()) | Q(assigned_to=user))
    return qs.filter(assigned_to=user)


def handoff_list_for_user(
    *,
    user: User,
    status: str = HandoffStatus.OPEN,
    rep_id: int | None = None,
    team_id: int | None = None,
    overdue: bool = False,
    now: datetime | None = None,
) -> QuerySet[LeadHandoff]:
    """Handoffs by status (empty: all), rep, team; ``overdue``: open past the due time.
    Open ones come by due time, the others newest first."""
    qs = handoffs_for_user(user=user).select_related("lead", "assigned_to", "team", "rule")
    if status:
        qs = qs.filter(status=status)
    if rep_id:
        qs = qs.filter(assigned_to_id=rep_id)
    if team_id:
        qs = qs.filter(team_id=team_id)
    if overdue:
        qs = qs.filter(status=HandoffStatus.OPEN, due_at__lt=now or timezone.now())
    if status == HandoffStatus.OPEN:
        return qs.order_by("due_at", "pk")
    return qs.order_by("-assigned_at", "-pk")


def handoff_get_for_user(*, user: User, pk: int) -> LeadHandoff:
    handoff = handoff_list_for_user(user=user, status="").filter(pk=pk).first()
    if handoff is None:
        raise Http404
    return handoff


def waiting_leads_for_user(*, user: User) -> QuerySet[Lead]:
    """Marketing-qualified new leads without an open handoff (nobody could take them, or they
    were recycled with nobody left): what "Hand off now" is for."""
    qs = Lead.objects.filter(
        deleted_at__isnull=True, status=LeadStatus.NEW, mql_at__isnull=False
    ).exclude(handoffs__status=HandoffStatus.OPEN)
    if _sees_all(user):
        pass
    elif user.is_active and user.role == Role.SALES_MANAGER:
        qs = qs.filter(Q(team__isnull=True) | Q(team_id__in=user.managed_team_ids()))
    else:
        return qs.none()
    return qs.select_related("owner", "team").order_by("mql_at", "pk")


def rule_list_for_user(*, user: User) -> QuerySet[LeadAssignmentRule]:
    if not user.has_perm("marketing.view_handoff_rules"):
        return LeadAssignmentRule.objects.none()
    return LeadAssignmentRule.objects.select_related(
        "product_interest", "team", "last_user"
    ).prefetch_related("users", "required_competencies")


def rule_get_for_user(*, user: User, pk: int, write: bool = False) -> LeadAssignmentRule:
    rule = rule_list_for_user(user=user).filter(pk=pk).first()
    if rule is None or (write and not user.has_perm("marketing.change_handoff_rules")):
        raise Http404
    return rule


# --- The compliance report ------------------------------------------------------------------


@dataclass
class ComplianceRow:
    key: int | None
    name: str
    handoffs: int = 0
    in_time: int = 0
    late: int = 0
    recycled: int = 0
    open: int = 0
    overdue: int = 0
    _hours: list[float] = field(default_factory=list, repr=False)

    @property
    def judged(self) -> int:
        return self.handoffs - (self.open - self.overdue)

    @property
    def compliance(self) -> float | None:
        """Percent in time of the judged handoffs; ``None`` while none is judged."""
        return round(100 * self.in_time / self.judged, 1) if self.judged else None

    @property
    def median_hours(self) -> float | None:
        return round(statistics.median(self._hours), 1) if self._hours else None

    def add(self, handoff: dict, now: datetime) -> None:
        self.handoffs += 1
        status = handoff["status"]
        if status == HandoffStatus.CONTACTED:
            self.in_time += 1
        elif status == HandoffStatus.LATE:
            self.late += 1
        elif status == HandoffStatus.RECYCLED:
            self.recycled += 1
        else:
            self.open += 1
            self.overdue += handoff["due_at"] < now
        if handoff["first_contact_at"] is not None:
            seconds = (handoff["first_contact_at"] - handoff["assigned_at"]).total_seconds()
            self._hours.append(max(seconds, 0) / 3600)

    def as_dict(self) -> dict:
        return {
            "id": self.key,
            "name": self.name,
            "handoffs": self.handoffs,
            "in_time": self.in_time,
            "late": self.late,
            "recycled": self.recycled,
            "open": self.open,
            "overdue": self.overdue,
            "compliance_percent": self.compliance,
            "median_hours_to_first_contact": self.median_hours,
        }


@dataclass
class ComplianceReport:
    start: date
    end: date
    reps: list[ComplianceRow]
    teams: list[ComplianceRow]
    total: ComplianceRow

    def as_dict(self) -> dict:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "reps": [r.as_dict() for r in self.reps],
            "teams": [t.as_dict() for t in self.teams],
            "total": self.total.as_dict(),
        }


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """From the start of ``start`` to the end of ``end`` (both days included), local time."""
    zone = timezone.get_current_timezone()
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )


def compliance_report(
    *, user: User | None, start: date, end: date, now: datetime | None = None
) -> ComplianceReport:
    """The SLA compliance per rep and per team of the handoffs assigned from ``start`` to
    ``end`` (days included) that the user may see; the definitions are in the docstring."""
    now = now or timezone.now()
    since, until = period_bounds(start, end)
    rows = (
        handoffs_for_user(user=user)
        .filter(assigned_at__gte=since, assigned_at__lt=until)
        .values(
            "status",
            "assigned_at",
            "due_at",
            "first_contact_at",
            "assigned_to_id",
            "assigned_to__username",
            "assigned_to__first_name",
            "assigned_to__last_name",
            "team_id",
            "team__name",
        )
        .order_by()
    )
    reps: dict[int | None, ComplianceRow] = {}
    teams: dict[int | None, ComplianceRow] = {}
    total = ComplianceRow(key=None, name="")
    for row in rows:
        rep_name = (
            f"{row['assigned_to__first_name']} {row['assigned_to__last_name']}".strip()
            or row["assigned_to__username"]
            or "—"
        )
        reps.setdefault(row["assigned_to_id"], ComplianceRow(row["assigned_to_id"], rep_name))
        teams.setdefault(row["team_id"], ComplianceRow(row["team_id"], row["team__name"] or "—"))
        for target in (reps[row["assigned_to_id"]], teams[row["team_id"]], total):
            target.add(row, now)
    return ComplianceReport(
        start=start,
        end=end,
        reps=sorted(reps.values(), key=lambda r: r.name.casefold()),
        teams=sorted(teams.values(), key=lambda r: r.name.casefold()),
        total=total,
    )
