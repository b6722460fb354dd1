"""The indirect process of complaint management (DOMAIN.md §5): evaluation, controlling and the
figures of the complaint report, for a period and the cases a user may see.

Notation. The period is the days ``start`` … ``end`` (both included, local time of
``settings.TIME_ZONE``); *the period's cases* are the visible cases (``queries.visible_cases``)
created in it. n is their number.

* **Pareto** (evaluation), per dimension d (category, product, root cause, channel): the values
  sorted by count n_v, descending; share_v = n_v / n × 100; cumulative share
  C_k = Σ_{i ≤ k} n_i / n × 100. The *vital few* are the values up to and including the first
  one whose C_k reaches 80 % (the 80 % line). Cases without a product or root cause count as
  "not recorded".
* **Trend**: the counts of the period's top 5 values in each of the 12 weeks (period up to 31
  days) or 12 months (longer periods) ending with the period's last day.
* **SLA compliance** (task controlling), per severity and overall:
  acknowledged in time = #(acknowledged_at ≤ ack_due_at) / #(acknowledged, or not acknowledged
  and ack_due_at already past) × 100; resolved in time likewise with resolved_at and
  resolve_due_at. Cases still within their deadline are *pending* and in neither count.
* **Time to acknowledge** = business hours from created_at to acknowledged_at; **time to
  resolve** = business hours from created_at to resolved_at minus the paused time (the
  customer's waits, already measured in business hours). Business hours follow the SLA policy
  of the case's severity (``kreis.service.sla``: its opening hours, weekdays and German public
  holidays). Median and 90th percentile by linear interpolation between the closest ranks.
* **Evidence controlling**: a *dissatisfied customer* is a party with a survey answer in the
  period that is a detractor (NPS answer 0–6) or whose CSAT (the mean of its 1–5 ratings, as
  ``kreis.feedback.analysis.respondent_scores`` defines it) is at most 2. Complaint rate of the
  dissatisfied = #(dissatisfied with a case in the period) / #dissatisfied × 100. Anonymous
  answers name no customer and are only counted.
* **Cost–benefit controlling**: complaint costs = Σ amount of the ``CaseCost`` rows of the
  period's cases (whatever day they were booked). A complaining customer *stayed* when the party
  is not deleted and its lifecycle phase is neither Dissolution nor Abstinence (DOMAIN.md §2:
  the phases of a customer who is leaving or has left); a party whose phase was never computed
  counts as stayed (no sign of leaving). CLV retained = Σ CLV of the customers who stayed
  (a CLV never computed counts 0, and their number is shown). Benefit–cost ratio =
  CLV retained / complaint costs.

Every figure is a grouped SQL aggregate over the cases; only the durations are computed in
Python (holidays and opening hours are no SQL), from one row of timestamps per case and with
O(1) work per case (a running sum of business seconds per day, ``BusinessClock``).
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Avg, Count, F, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models import Case as DbCase
from django.utils import timezone
from django.utils.translation import gettext as _

from kreis.commerce.models import Product
from kreis.core.models import Role, User
from kreis.core.queries import visible_records
from kreis.parties.models import LifecyclePhase, Party
from kreis.service.models import (
    ActionStatus,
    Case,
    CaseCategory,
    CaseCost,
    Channel,
    CostKind,
    ImprovementAction,
    RootCause,
    Severity,
    SlaPolicy,
)
from kreis.service.queries import visible_cases
from kreis.service.rules import sees_all_cases
from kreis.service.sla import BusinessCalendar

PARETO_LINE = 80.0
TREND_PERIODS = 12
TREND_TOP = 5
# Periods up to this many days show weekly trends; longer ones monthly.
WEEKLY_UP_TO_DAYS = 31
LEFT_PHASES = (LifecyclePhase.DISSOLUTION, LifecyclePhase.ABSTINENCE)
# Histogram bucket edges in business hours (9 h = one default business day).
HOUR_EDGES = (0, 1, 4, 9, 18, 45, 90)
LIST_LIMIT = 100
COST_TABLE_ROWS = 20
DIMENSIONS = ("category", "product", "root_cause", "channel")


def formulas() -> dict[str, str]:
    """Every formula in the user's language, for the page's titles and the report."""
    return {
        "pareto": _(
            "Sorted by count, descending. Share = n(value) / n × 100; cumulative share = sum of "
            "the counts up to this value / n × 100. The values up to the first whose cumulative "
            "share reaches 80 % are the vital few."
        ),
        "trend": _(
            "Cases per week (periods up to 31 days) or per month of the 5 most frequent values, "
            "over the 12 weeks or months ending with the period."
        ),
        "ack_rate": _(
            "Acknowledged in time = cases acknowledged by their due time / (acknowledged cases "
            "+ unacknowledged cases past their due time) × 100"
        ),
        "resolve_rate": _(
            "Resolved in time = cases resolved by their due time / (resolved cases + unresolved "
            "cases past their due time) × 100"
        ),
        "ack_time": _(
            "Time to acknowledge = business hours from receipt to acknowledgement (opening "
            "hours, weekdays and public holidays of the severity's SLA policy)"
        ),
        "resolve_time": _(
            "Time to resolve = business hours from receipt to resolution minus the time spent "
            "waiting for the customer"
        ),
        "quantiles": _(
            "Median and 90th percentile: linear interpolation between the closest ranks"
        ),
        "dissatisfied": _(
            "Dissatisfied = a survey answer in the period with NPS 0–6 (detractor) or a CSAT "
            "(mean 1–5 rating) of at most 2"
        ),
        "complaint_rate": _(
            "Complaint rate of the dissatisfied = dissatisfied customers with a case in the "
            "period / dissatisfied customers × 100"
        ),
        "costs": _("Complaint costs = sum of the costs of the period's cases"),
        "stayed": _(
            "Stayed = the customer is not deleted and not in the phase Dissolution or "
            "Abstinence (no computed phase counts as stayed)"
        ),
        "ratio": _("Benefit–cost ratio = CLV of the complaining customers who stayed / costs"),
    }


# --- Who may see the analysis; the period -----------------------------------------------------


def may_view_analysis(user: User) -> bool:
    """Managers (administrators, sales managers) and service agents."""
    return bool(
        user
        and user.is_authenticated
        and user.is_active
        and (user.is_admin or user.role in (Role.SALES_MANAGER, Role.SERVICE_AGENT))
    )


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date
    # The trend's grain: "week" or "month"; empty: weeks for periods up to 31 days, else months.
    grain: str = ""

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("The period must not end before it starts.")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """[first moment, first moment after) in the site's time zone."""
        tz = timezone.get_default_timezone()
        return (
            dt.datetime.combine(self.start, dt.time.min, tzinfo=tz),
            dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=tz),
        )

    @property
    def weekly(self) -> bool:
        if self.grain:
            return self.grain == "week"
        return self.days <= WEEKLY_UP_TO_DAYS


def last_days(days: int, *, today: dt.date | None = None) -> Period:
    """The ``days`` days ending today."""
    today = today or timezone.localdate()
    return Period(today - dt.timedelta(days=days - 1), today)


def _cases_for(user: User | None) -> QuerySet[Case]:
    """The cases ``user`` may see; ``None`` is the system (the subscribers' report): all."""
    return Case.objects.all() if user is None else visible_cases(Case.objects.all(), user=user)


def _parties_shown(user: User | None) -> QuerySet[Party]:
    """The parties whose names and links ``user`` may see (``None``: all)."""
    return Party.objects.all() if user is None else visible_records(Party.objects.all(), user=user)


def period_cases(*, user: User | None, period: Period) -> QuerySet[Case]:
    low, high = period.bounds()
    return _cases_for(user).filter(created_at__gte=low, created_at__lt=high)


# --- Evaluation: Pareto and trends ------------------------------------------------------------

NOT_RECORDED = ""


def _labels(dimension: str, keys: list) -> dict:
    ids = [k for k in keys if k not in (None, NOT_RECORDED)]
    if dimension == "category":
        found = {c.pk: c.name for c in CaseCategory.objects.filter(pk__in=ids)}
    elif dimension == "root_cause":
        found = {c.pk: c.name for c in RootCause.objects.filter(pk__in=ids)}
    elif dimension == "product":
        found = dict(Product.objects.filter(pk__in=ids).values_list("pk", "name"))
    else:
        found = {value: str(label) for value, label in Channel.choices}
    found[None] = _("not recorded")
    return found


def _column(dimension: str) -> str:
    return dimension if dimension == "channel" else f"{dimension}_id"


def pareto(cases: QuerySet[Case], dimension: str) -> dict:
    """The Pareto table of one dimension (see the module's notation)."""
    column = _column(dimension)
    rows = list(cases.order_by().values(column).annotate(n=Count("id")).order_by("-n", column))
    # NULLs sort differently on SQLite and PostgreSQL: the order is fixed here, by count, then
    # by key with "not recorded" last.
    rows.sort(key=lambda r: (-r["n"], r[column] is None, str(r[column])))
    total = sum(r["n"] for r in rows)
    labels = _labels(dimension, [r[column] for r in rows])
    items, running, reached = [], 0, False
    for row in rows:
        running += row["n"]
        cumulative = 100.0 * running / total
        items.append(
            {
                "key": row[column],
                "label": labels.get(row[column], str(row[column])),
                "count": row["n"],
                "share": round(100.0 * row["n"] / total, 1),
                "cumulative": round(cumulative, 1),
                "vital_few": not reached,
            }
        )
        reached = reached or cumulative >= PARETO_LINE
    return {"dimension": dimension, "total": total, "items": items}


def _trend_starts(period: Period) -> list[dt.date]:
    if period.weekly:
        monday = period.end - dt.timedelta(days=period.end.weekday())
        return [monday - dt.timedelta(weeks=TREND_PERIODS - 1 - i) for i in range(TREND_PERIODS)]
    year, month = period.end.year, period.end.month
    starts = []
    for back in range(TREND_PERIODS - 1, -1, -1):
        y, m = divmod(year * 12 + month - 1 - back, 12)
        starts.append(dt.date(y, m + 1, 1))
    return starts


def _bucket(starts: list[dt.datetime]) -> DbCase:
    """The index of the period a case was received in, as plain SQL comparisons with the
    periods' first moments (no per-row date function: SQLite's would run in Python)."""
    whens = [When(created_at__lt=start, then=Value(i - 1)) for i, start in enumerate(starts[1:], 1)]
    return DbCase(*whens, default=Value(len(starts) - 1), output_field=IntegerField())


def trend(*, user: User | None, period: Period, dimension: str, top: list) -> dict:
    """Counts per week or month of the ``top`` values of ``dimension`` (one grouped query)."""
    starts = _trend_starts(period)
    tz = timezone.get_default_timezone()
    moments = [dt.datetime.combine(start, dt.time.min, tzinfo=tz) for start in starts]
    high = period.bounds()[1]
    column = _column(dimension)
    qs = _cases_for(user).filter(created_at__gte=moments[0], created_at__lt=high)
    keys = [k for k in top if k is not None]
    condition = Q(**{f"{column}__in": keys})
    if None in top:
        condition |= Q(**{f"{column}__isnull": True})
    rows = (
        qs.filter(condition)
        .order_by()
        .annotate(bucket=_bucket(moments))
        .values("bucket", column)
        .annotate(n=Count("id"))
    )
    series = {key: [0] * len(starts) for key in top}
    for row in rows:
        if row[column] in series:
            series[row[column]][row["bucket"]] += row["n"]
    return {
        "grain": "week" if period.weekly else "month",
        "periods": [s.isoformat() for s in starts],
        "series": [{"key": key, "values": series[key]} for key in top],
    }


def evaluation(*, user: User | None, period: Period, cases: QuerySet[Case]) -> dict:
    result = {}
    for dimension in DIMENSIONS:
        table = pareto(cases, dimension)
        top_items = table["items"][:TREND_TOP]
        table["trend"] = trend(
            user=user, period=period, dimension=dimension, top=[i["key"] for i in top_items]
        )
        names = {i["key"]: i["label"] for i in top_items}
        for line in table["trend"]["series"]:
            line["label"] = names[line["key"]]
        result[dimension] = table
    return result


# --- Controlling: SLA compliance and durations ------------------------------------------------


class BusinessClock:
    """Business seconds since ``first`` for any moment up to ``last`` in O(1): a running sum
    of each day's business seconds, computed once per calendar."""

    def __init__(self, calendar: BusinessCalendar, first: dt.date, last: dt.date) -> None:
        self.calendar, self.first = calendar, first
        self.cumulative = [0.0]
        self.opening: list[tuple[dt.datetime, dt.datetime] | None] = []
        day = first
        while day <= last:
            if calendar.is_business_day(day):
                opens, closes = calendar._opening(day)
                self.opening.append((opens, closes))
                length = (closes - opens).total_seconds()
            else:
                self.opening.append(None)
                length = 0.0
            self.cumulative.append(self.cumulative[-1] + length)
            day += dt.timedelta(days=1)

    def at(self, moment: dt.datetime) -> float:
        local = moment.astimezone(self.calendar.tz)
        i = (local.date() - self.first).days
        i = min(max(i, 0), len(self.opening) - 1)
        seconds = self.cumulative[i]
        hours = self.opening[i]
        if hours is not None:
            opens, closes = hours
            seconds += min(
                max((local - opens).total_seconds(), 0.0), (closes - opens).total_seconds()
            )
        return seconds

    def hours_between(self, start: dt.datetime, end: dt.datetime) -> float:
        return max(self.at(end) - self.at(start), 0.0) / 3600


def quantile(values: list[float], q: float) -> float | None:
    """The q-quantile by linear interpolation between the closest ranks (NumPy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def histogram(values: list[float]) -> list[dict]:
    """Counts per bucket of ``HOUR_EDGES`` (lower edge included), the last one open."""
    counts = [0] * len(HOUR_EDGES)
    for value in values:
        counts[bisect_right(HOUR_EDGES, value) - 1] += 1
    buckets = []
    for i, low in enumerate(HOUR_EDGES):
        high = HOUR_EDGES[i + 1] if i + 1 < len(HOUR_EDGES) else None
        label = f"{low}–{high} h" if high is not None else f"≥ {low} h"
        buckets.append({"from": low, "to": high, "label": label, "count": counts[i]})
    return buckets


def _rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def sla_compliance(cases: QuerySet[Case], *, now: dt.datetime | None = None) -> dict:
    """Acknowledged and resolved in time, per severity and overall (one grouped query)."""
    now = now or timezone.now()
    acked, resolved = Q(acknowledged_at__isnull=False), Q(resolved_at__isnull=False)
    rows = (
        cases.order_by()
        .values("severity")
        .annotate(
            cases=Count("id"),
            ack_due=Count(
                "id", filter=Q(ack_due_at__isnull=False) & (acked | Q(ack_due_at__lt=now))
            ),
            ack_ok=Count("id", filter=acked & Q(acknowledged_at__lte=F("ack_due_at"))),
            resolve_due=Count(
                "id",
                filter=Q(resolve_due_at__isnull=False) & (resolved | Q(resolve_due_at__lt=now)),
            ),
            resolve_ok=Count("id", filter=resolved & Q(resolved_at__lte=F("resolve_due_at"))),
        )
    )
    found = {row["severity"]: row for row in rows}
    keys = ("cases", "ack_due", "ack_ok", "resolve_due", "resolve_ok")
    overall = dict.fromkeys(keys, 0)
    per_severity = []
    for value, label in Severity.choices:
        row = found.get(value, dict.fromkeys(keys, 0))
        for key in keys:
            overall[key] += row[key]
        per_severity.append({"severity": value, "label": str(label), **_rates(row)})
    return {"overall": _rates(overall), "per_severity": per_severity}


def _rates(row: dict) -> dict:
    return {
        "cases": row["cases"],
        "ack_measured": row["ack_due"],
        "ack_in_time": row["ack_ok"],
        "ack_rate": _rate(row["ack_ok"], row["ack_due"]),
        "resolve_measured": row["resolve_due"],
        "resolve_in_time": row["resolve_ok"],
        "resolve_rate": _rate(row["resolve_ok"], row["resolve_due"]),
    }


def durations(cases: QuerySet[Case]) -> dict:
    """Time to acknowledge and to resolve in business hours: histogram, median, p90."""
    rows = list(
        cases.order_by()
        .filter(Q(acknowledged_at__isnull=False) | Q(resolved_at__isnull=False))
        .values_list("severity", "created_at", "acknowledged_at", "resolved_at", "paused_seconds")
    )
    policies = {p.severity: BusinessCalendar.from_policy(p) for p in SlaPolicy.objects.all()}
    default = BusinessCalendar()
    ack: list[float] = []
    resolve: list[float] = []
    if rows:
        moments = [m for row in rows for m in row[1:4] if m is not None]
        tz = default.tz
        first = min(moments).astimezone(tz).date() - dt.timedelta(days=1)
        last = max(moments).astimezone(tz).date() + dt.timedelta(days=1)
        clocks: dict[str, BusinessClock] = {}
        for severity, created, acknowledged, resolved_at, paused in rows:
            clock = clocks.get(severity)
            if clock is None:
                clock = clocks[severity] = BusinessClock(
                    policies.get(severity, default), first, last
                )
            if acknowledged is not None:
                ack.append(clock.hours_between(created, acknowledged))
            if resolved_at is not None:
                resolve.append(max(clock.hours_between(created, resolved_at) - paused / 3600, 0))
    return {
        "unit": "business_hours",
        "acknowledge": _summary(ack),
        "resolve": _summary(resolve),
    }


def _summary(values: list[float]) -> dict:
    median, p90 = quantile(values, 0.5), quantile(values, 0.9)
    return {
        "n": len(values),
        "median": None if median is None else round(median, 1),
        "p90": None if p90 is None else round(p90, 1),
        "histogram": histogram(values),
    }


# --- Evidence controlling ---------------------------------------------------------------------


def _party_scope(user: User | None) -> QuerySet[Party]:
    """The parties whose survey answers count: all for those who see every case, else the
    parties the user may see."""
    alive = Party.objects.filter(deleted_at__isnull=True)
    if user is None or sees_all_cases(user):
        return alive
    return visible_records(alive, user=user)


def evidence(*, user: User | None, period: Period, cases: QuerySet[Case]) -> dict:
    """Dissatisfied customers from the surveys, with and without a case in the period."""
    from kreis.feedback.models import QuestionKind, Response

    low, high = period.bounds()
    answers = (
        Response.objects.filter(created_at__gte=low, created_at__lt=high)
        .order_by()
        .annotate(
            csat_mean=Avg("answers__value", filter=Q(answers__question__kind=QuestionKind.SCALE))
        )
        .filter(Q(nps__lte=6) | Q(csat_mean__lte=2))
    )
    anonymous = answers.filter(party__isnull=True).count()
    dissatisfied = _party_scope(user).filter(pk__in=answers.values("party_id"))
    total = dissatisfied.count()
    complaining = cases.order_by().values("party_id")
    with_case = dissatisfied.filter(pk__in=complaining).count()
    without = dissatisfied.exclude(pk__in=complaining)
    visible = set(
        _parties_shown(user).filter(pk__in=without.values("pk")).values_list("pk", flat=True)
    )
    listed = list(
        without.order_by("name", "pk").values("pk", "name", "last_nps", "last_csat")[:LIST_LIMIT]
    )
    return {
        "dissatisfied": total,
        "with_case": with_case,
        "without_case": total - with_case,
        "complaint_rate": _rate(with_case, total),
        "anonymous_answers": anonymous,
        "without_case_list": [
            {
                "party_id": row["pk"],
                "name": row["name"] if row["pk"] in visible else _("Hidden party"),
                "visible": row["pk"] in visible,
                "last_nps": row["last_nps"],
                "last_csat": row["last_csat"],
            }
            for row in listed
        ],
        "list_limit": LIST_LIMIT,
    }


# --- Cost–benefit controlling -----------------------------------------------------------------

ZERO = Decimal("0.00")


def cost_benefit(*, user: User | None, cases: QuerySet[Case]) -> dict:
    """Complaint costs against the CLV of the complaining customers who stayed."""
    costs = CaseCost.objects.filter(case__in=cases.order_by().values("pk"))
    by_kind = dict(
        costs.order_by().values("kind").annotate(s=Sum("amount")).values_list("kind", "s")
    )
    total_cost = sum(by_kind.values(), ZERO)
    complainants = Party.objects.filter(pk__in=cases.order_by().values("party_id"))
    stayed = Q(deleted_at__isnull=True) & ~Q(lifecycle_phase__in=LEFT_PHASES)
    totals = complainants.aggregate(
        customers=Count("id"),
        stayed=Count("id", filter=stayed),
        clv_stayed=Sum("clv", filter=stayed),
        without_clv=Count("id", filter=stayed & Q(clv__isnull=True)),
    )
    per_party = (
        cases.order_by()
        .values("party_id")
        .annotate(n=Count("id", distinct=True), cost=Sum("costs__amount"))
        .order_by(F("cost").desc(nulls_last=True), "-n", "party_id")[:COST_TABLE_ROWS]
    )
    rows = list(per_party)
    parties = {
        p["pk"]: p
        for p in Party.objects.filter(pk__in=[r["party_id"] for r in rows]).values(
            "pk", "name", "clv", "lifecycle_phase", "deleted_at"
        )
    }
    visible = set(_parties_shown(user).filter(pk__in=list(parties)).values_list("pk", flat=True))
    phases = dict(LifecyclePhase.choices)
    table = []
    for row in rows:
        party = parties[row["party_id"]]
        left = party["deleted_at"] is not None or party["lifecycle_phase"] in LEFT_PHASES
        table.append(
            {
                "party_id": row["party_id"],
                # Whoever sees a case sees who complains (kreis.service.rules).
                "name": party["name"],
                "link": row["party_id"] in visible,
                "cases": row["n"],
                "cost": row["cost"] or ZERO,
                "clv": party["clv"],
                "phase": str(phases.get(party["lifecycle_phase"], "")),
                "stayed": not left,
            }
        )
    clv_stayed = totals["clv_stayed"] or ZERO
    return {
        "costs": total_cost,
        "costs_by_kind": [
            {"kind": k, "label": str(label), "amount": by_kind.get(k) or ZERO}
            for k, label in CostKind.choices
        ],
        "customers": totals["customers"],
        "stayed": totals["stayed"],
        "left": totals["customers"] - totals["stayed"],
        "clv_stayed": clv_stayed,
        "stayed_without_clv": totals["without_clv"],
        "ratio": round(float(clv_stayed / total_cost), 2) if total_cost else None,
        "table": table,
    }


# --- Information usage: improvement actions of the period -------------------------------------


def improvement_actions(*, period: Period) -> list[dict]:
    """Actions created by the period's end that were open at its end or due or effective in it."""
    low, high = period.bounds()
    in_period = Q(due_date__gte=period.start, due_date__lte=period.end) | Q(
        effective_on__gte=period.start, effective_on__lte=period.end
    )
    open_ = Q(status__in=(ActionStatus.PLANNED, ActionStatus.IN_PROGRESS))
    statuses = dict(ActionStatus.choices)
    actions = (
        ImprovementAction.objects.filter(created_at__lt=high)
        .filter(open_ | in_period)
        .select_related("root_cause")
        .order_by("due_date", "pk")
    )
    return [
        {
            "id": a.pk,
            "title": a.title,
            "root_cause": a.root_cause.name,
            "status": a.status,
            "status_label": str(statuses.get(a.status, a.status)),
            "due_date": a.due_date,
        }
        for a in actions
    ]


# --- Everything --------------------------------------------------------------------------------


def case_analysis(*, user: User | None, period: Period, now: dt.datetime | None = None) -> dict:
    """All figures of the indirect process for the period and the user's visible cases."""
    cases = period_cases(user=user, period=period)
    return {
        "period": {"start": period.start, "end": period.end, "days": period.days},
        "cases": cases.count(),
        "evaluation": evaluation(user=user, period=period, cases=cases),
        "sla": sla_compliance(cases, now=now),
        "durations": durations(cases),
        "evidence": evidence(user=user, period=period, cases=cases),
        "cost_benefit": cost_benefit(user=user, cases=cases),
        "actions": improvement_actions(period=period),
        "formulas": formulas(),
    }


def may_receive_reports(user: User) -> bool:
    """The complaint report covers every case, so only those who see every case (administrators
    and sales managers) subscribe to it and open the archived reports."""
    return may_view_analysis(user) and bool(sees_all_cases(user))
