"""Reads of playbooks, permission-aware (every page, API route and CLI list fetches here), and
the measurement of a playbook against its control group."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kreis.analytics.customer.models import PhaseChange
from kreis.commerce.models import Transaction, TransactionKind
from kreis.core.models import User
from kreis.core.queries import visible_records
from kreis.core.search import SearchHit
from kreis.parties.models import Party
from kreis.playbooks.models import (
    RECOVERED_PHASES,
    Enrollment,
    EnrollmentStatus,
    Playbook,
    PlaybookKind,
    StepRun,
)

VIEW = "playbooks.view_playbook"
MANAGE = "playbooks.manage_playbook"
Z95 = 1.959963984540054


def playbook_list_for_user(*, user: User) -> QuerySet[Playbook]:
    if not user.has_perm(VIEW):
        return Playbook.objects.none()
    return Playbook.objects.annotate(
        n_steps=Count("steps", distinct=True),
    ).order_by("kind", "name_de", "pk")


def playbook_get_for_user(*, user: User, pk: int, perm: str = VIEW) -> Playbook:
    """The playbook, or 404 when the user may not see playbooks; 403 when they may see it but
    not do what ``perm`` asks."""
    if not user.has_perm(VIEW):
        raise Http404
    playbook = Playbook.objects.filter(pk=pk).first()
    if playbook is None:
        raise Http404
    if perm != VIEW and not user.has_perm(perm, playbook):
        raise PermissionDenied
    return playbook


def enrollment_list_for_user(
    *,
    user: User,
    playbook: Playbook | None = None,
    party: Party | None = None,
    status: str = "",
    step: int | None = None,
) -> QuerySet[Enrollment]:
    """Enrollments of the parties the user may see (owner or team; administrators all)."""
    if not user.has_perm(VIEW):
        return Enrollment.objects.none()
    qs = Enrollment.objects.select_related("party", "playbook", "party__owner")
    if playbook is not None:
        qs = qs.filter(playbook=playbook)
    if party is not None:
        qs = qs.filter(party=party)
    if status:
        qs = qs.filter(status=status)
    if step is not None:
        qs = qs.filter(current_step=step)
    if not user.is_admin:
        qs = qs.filter(party__in=visible_records(Party.objects.all(), user=user))
    return qs.filter(party__deleted_at__isnull=True).order_by("-entered_at", "-pk")


def enrollment_get_for_user(*, user: User, pk: int) -> Enrollment:
    enrollment = enrollment_list_for_user(user=user).filter(pk=pk).first()
    if enrollment is None:
        raise Http404
    return enrollment


def with_offer_quote_id(qs: QuerySet[Enrollment]) -> QuerySet[Enrollment]:
    """``offer_quote_pk``: the draft quote of the enrollment's latest offer step (a subquery,
    so a page of the API costs no query per row)."""
    latest = (
        StepRun.objects.filter(enrollment_id=OuterRef("pk"), quote__isnull=False)
        .order_by("-position")
        .values("quote_id")[:1]
    )
    return qs.annotate(offer_quote_pk=Subquery(latest))


def attach_offers(enrollments) -> None:
    """The draft quote each enrollment's offer step made (the latest), as ``offer_quote`` on
    each (None without one): one query for a page of enrollments."""
    enrollments = list(enrollments)
    for enrollment in enrollments:
        enrollment.offer_quote = None
    if not enrollments:
        return
    by_pk = {e.pk: e for e in enrollments}
    runs = (
        StepRun.objects.filter(enrollment_id__in=by_pk, quote__isnull=False)
        .select_related("quote")
        .order_by("position")
    )
    for run in runs:
        by_pk[run.enrollment_id].offer_quote = run.quote


def status_counts(*, user: User, playbook: Playbook) -> dict[str, int]:
    rows = (
        enrollment_list_for_user(user=user, playbook=playbook)
        .order_by()
        .values("status")
        .annotate(n=Count("pk"))
    )
    counts = dict.fromkeys(EnrollmentStatus.values, 0)
    counts.update({r["status"]: r["n"] for r in rows})
    return counts


def step_counts(*, user: User, playbook: Playbook) -> dict[int, int]:
    """Active enrollments per steps done (the step each party has reached)."""
    rows = (
        enrollment_list_for_user(user=user, playbook=playbook, status=EnrollmentStatus.ACTIVE)
        .order_by()
        .values("current_step")
        .annotate(n=Count("pk"))
    )
    return {r["current_step"]: r["n"] for r in rows}


def playbook_search_hits(*, user: User, text: str, limit: int = 8) -> list[SearchHit]:
    if len(text) < 2 or not user.has_perm(VIEW):
        return []
    rows = Playbook.objects.filter(Q(name_de__icontains=text) | Q(name_en__icontains=text))
    return [
        SearchHit(
            title=p.name,
            subtitle=p.get_kind_display(),
            url=reverse("playbooks:detail", args=[p.pk]),
            icon="signpost-split",
            entity="playbook",
            object_id=p.pk,
        )
        for p in rows.order_by("pk")[:limit]
    ]


# --- measurement --------------------------------------------------------------------------------


@dataclass
class Group:
    n: int
    successes: int

    @property
    def rate(self) -> float | None:
        return self.successes / self.n if self.n else None


@dataclass
class Comparison:
    """Treated versus control: the rates, the uplift (difference) and its 95 % interval."""

    treated: Group
    control: Group

    @property
    def uplift(self) -> float | None:
        if self.treated.rate is None or self.control.rate is None:
            return None
        return self.treated.rate - self.control.rate

    @property
    def interval(self) -> tuple[float, float] | None:
        """Wald interval of the difference of two proportions (normal approximation)."""
        t, c = self.treated, self.control
        if not t.n or not c.n:
            return None
        pt, pc = t.rate, c.rate
        se = math.sqrt(pt * (1 - pt) / t.n + pc * (1 - pc) / c.n)
        d = pt - pc
        return (d - Z95 * se, d + Z95 * se)

    @property
    def significant(self) -> bool:
        ci = self.interval
        return ci is not None and (ci[0] > 0 or ci[1] < 0) and (ci[0] != ci[1])

    def as_dict(self) -> dict:
        ci = self.interval
        return {
            "treated": asdict(self.treated) | {"rate": self.treated.rate},
            "control": asdict(self.control) | {"rate": self.control.rate},
            "uplift": self.uplift,
            "ci_low": ci[0] if ci else None,
            "ci_high": ci[1] if ci else None,
            "significant": self.significant,
        }


def success_condition(playbook: Playbook):
    """What counts as success within the window: an order (retention and win-back); for
    retention (and other) playbooks also a move back to Socialization, Growth or Maturity."""
    ordered = Exists(
        Transaction.objects.filter(
            party_id=OuterRef("party_id"),
            kind=TransactionKind.ORDER,
            deleted_at__isnull=True,
            date__gte=OuterRef("entered_on"),
            date__lte=OuterRef("window_ends_on"),
        )
    )
    if playbook.kind == PlaybookKind.WINBACK:
        return ordered
    recovered = Exists(
        PhaseChange.objects.filter(
            party_id=OuterRef("party_id"),
            to_phase__in=RECOVERED_PHASES,
            date__gte=OuterRef("entered_on"),
            date__lte=OuterRef("window_ends_on"),
        )
    )
    return ordered | recovered


def _compare(qs: QuerySet, playbook: Playbook) -> Comparison:
    held = Q(status=EnrollmentStatus.HELD_OUT)
    figures = qs.annotate(ok=success_condition(playbook)).aggregate(
        t_n=Count("pk", filter=~held),
        t_ok=Count("pk", filter=~held & Q(ok=True)),
        c_n=Count("pk", filter=held),
        c_ok=Count("pk", filter=held & Q(ok=True)),
    )
    return Comparison(
        treated=Group(figures["t_n"], figures["t_ok"]),
        control=Group(figures["c_n"], figures["c_ok"]),
    )


def playbook_stats(playbook: Playbook, *, today=None) -> dict:
    """The playbook's rate (retention or win-back) for the treated and the control group.

    ``ended``: only enrollments whose measurement window has ended (the figure to judge the
    playbook by). ``running``: all enrollments so far, windows still open included (successes
    can only grow there) — shown apart, labelled as such."""
    today = today or timezone.localdate()
    qs = Enrollment.objects.filter(playbook=playbook).order_by()
    ended = _compare(qs.filter(window_ends_on__lt=today), playbook)
    running = _compare(qs, playbook)
    return {
        "metric": rate_label(playbook),
        "window_days": playbook.window_days,
        "holdout_percent": playbook.holdout_percent,
        "ended": ended,
        "running": running,
    }


def rate_label(playbook: Playbook) -> str:
    return _("Win-back rate") if playbook.kind == PlaybookKind.WINBACK else _("Retention rate")


def stats_chart(playbook: Playbook, stats: dict) -> dict:
    """ECharts option: the rate of treated and control, window ended and running."""

    def pct(group: Group) -> float | None:
        return None if group.rate is None else round(group.rate * 100, 1)

    ended, running = stats["ended"], stats["running"]
    groups = [_("Treated"), _("Control group")]
    empty = not (running.treated.n or running.control.n)
    return {
        "empty": empty,
        "option": {
            "tooltip": {"trigger": "axis"},
            "legend": {"top": 0},
            "grid": {"left": 8, "right": 24, "top": 40, "bottom": 8, "containLabel": True},
            "xAxis": {"type": "category", "data": groups},
            "yAxis": {"type": "value", "max": 100, "axisLabel": {"formatter": "{value} %"}},
            "series": [
                {
                    "name": _("Window ended"),
                    "type": "bar",
                    "data": [pct(ended.treated), pct(ended.control)],
                    "label": {"show": True, "position": "top"},
                    "itemStyle": {"color": "#198754"},
                },
                {
                    "name": _("Running (windows still open)"),
                    "type": "bar",
                    "data": [pct(running.treated), pct(running.control)],
                    "label": {"show": True, "position": "top"},
                    "itemStyle": {"color": "#adb5bd"},
                },
            ],
        },
    }


def stats_as_dict(stats: dict) -> dict:
    return {
        "metric": str(stats["metric"]),
        "window_days": stats["window_days"],
        "holdout_percent": stats["holdout_percent"],
        "ended": stats["ended"].as_dict(),
        "running": stats["running"].as_dict(),
    }
