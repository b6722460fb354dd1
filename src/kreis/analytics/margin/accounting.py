"""Contribution margin accounting per customer (DOMAIN.md §7.2) as Ibis expressions.

    gross revenue − sales deductions (discounts, returns)                  = net revenue
    net revenue − cost of goods                                            = CM I
    CM I − order costs (handling, shipping)                                = CM II
    CM II − relationship costs (visits, service, complaints, marketing)    = CM III
    CM III − allocated fixed costs                                         = CM IV

Costs come from entries by hand (the ``fact_costs`` table) and from cost rules (``RuleSpec``),
each rule turned into an expression over the facts of the period, so the whole scheme runs on
whichever backend holds the warehouse. Complaint costs: Kreis has no complaint cases yet, so
they are entered by hand (category "complaint") or counted by a per-activity rule when users
log complaints as activities.

The second half of the module holds the database side: rules and entries as stored, the
permission-aware reads and the services that write them.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

import ibis
import pyarrow as pa
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kreis.analytics import warehouse
from kreis.analytics.margin.models import (
    CostBasis,
    CostCategory,
    CostEntry,
    CostLevel,
    CostRule,
    level_for,
)
from kreis.core.models import User
from kreis.core.templatetags.kreis import money
from kreis.parties.models import Party
from kreis.parties.queries import party_list_for_user

Tables = Mapping[str, ibis.Table]

LEVELS = ("cm1", "cm2", "cm3", "cm4")
MONEY_COLUMNS = (
    "gross_revenue",
    "discounts",
    "returns",
    "net_revenue",
    "cogs",
    "cm1",
    "order_costs",
    "cm2",
    "relationship_costs",
    "cm3",
    "fixed_costs",
    "cm4",
)
PCT_COLUMNS = tuple(f"{level}_pct" for level in LEVELS)
COLUMNS = ("party_id", *MONEY_COLUMNS, *PCT_COLUMNS)
ENTERED = {level: f"entered_{level}_costs" for level in CostLevel.values}
LEVEL_COSTS = {
    CostLevel.ORDER: "order_costs",
    CostLevel.RELATIONSHIP: "relationship_costs",
    CostLevel.FIXED: "fixed_costs",
}
RANK_KEYS = ("net_revenue", *LEVELS)
# Periods are limited to days whose month arithmetic cannot leave the calendar.
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2999, 12, 31)


# --- Periods and rules ------------------------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (or earlier), clipped to the end of a shorter month."""
    years, month = divmod(day.month - 1 + months, 12)
    year = day.year + years
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def last_12_months(today: dt.date) -> tuple[dt.date, dt.date]:
    return add_months(today, -12) + dt.timedelta(days=1), today


def period_months(start: dt.date, end: dt.date) -> float:
    """How many months [start, end] spans: whole months from ``start``, the rest as a fraction
    of the month it falls in (1 Jan – 30 Jun is 6.0, a quarter 3.0, a calendar year 12.0)."""
    after = end + dt.timedelta(days=1)
    if after <= start:
        return 0.0
    whole = (after.year - start.year) * 12 + after.month - start.month
    if add_months(start, whole) > after:
        whole -= 1
    rest, following = add_months(start, whole), add_months(start, whole + 1)
    return whole + (after - rest).days / (following - rest).days


@dataclass(frozen=True)
class RuleSpec:
    """A cost rule, detached from the database (see ``CostRule`` for the meaning of amount)."""

    name: str
    level: str
    basis: str
    amount: float
    category: str = CostCategory.OTHER
    activity_kind: str = ""
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    key: str = ""

    @classmethod
    def from_model(cls, rule: CostRule) -> RuleSpec:
        return cls(
            name=rule.name,
            level=rule.level,
            basis=rule.basis,
            amount=float(rule.amount),
            category=rule.category,
            activity_kind=rule.activity_kind,
            valid_from=rule.valid_from,
            valid_to=rule.valid_to,
            key=f"rule_{rule.pk}",
        )

    def window(self, start: dt.date, end: dt.date) -> tuple[dt.date, dt.date] | None:
        """The part of [start, end] in which the rule is valid, or None."""
        lo = max(start, self.valid_from or start)
        hi = min(end, self.valid_to or end)
        return (lo, hi) if lo <= hi else None


def rules_from_db() -> list[RuleSpec]:
    """The active cost rules as specifications for ``contribution_margins``."""
    return [RuleSpec.from_model(rule) for rule in CostRule.objects.filter(is_active=True)]


# --- The margins ------------------------------------------------------------------------------


def _between(table: ibis.Table, start: dt.date, end: dt.date) -> ibis.Table:
    return table.filter(table.date.between(start, end))


def _without_deleted(tables: Tables, table: ibis.Table) -> ibis.Table:
    """Facts of deleted parties drop out (merged parties' facts have moved to the survivor)."""
    if "dim_customer" not in tables:
        return table
    dim = tables["dim_customer"]
    return table.anti_join(dim.filter(dim.deleted).select("party_id"), "party_id")


def _when(condition: ibis.BooleanValue, value) -> ibis.Value:
    return ibis.cases((condition, value), else_=0.0)


def _facts_per_party(tables: Tables, active: list, start: dt.date, end: dt.date) -> ibis.Table:
    """One row per party with anything in the period: the sums the scheme needs and each
    rule's quantity. Sales are summed per transaction first (so orders are counted without
    COUNT DISTINCT), then sales, cost entries and activities are stacked and summed once —
    cheaper on a million customers than joining three aggregates."""
    names = [
        "gross_revenue",
        "discounts",
        "return_revenue",
        "cogs",
        *ENTERED.values(),
        *(key for key, _rule, _window in active),
    ]

    def stack(table: ibis.Table, values: dict) -> ibis.Table:
        return table.select(
            "party_id", **{name: values.get(name, ibis.literal(0.0)) for name in names}
        ).cast(dict.fromkeys(names, "float64"))

    sales = _without_deleted(tables, _between(tables["fact_sales"], start, end))
    orders = sales.group_by(["party_id", "transaction_id", "date", "kind"]).aggregate(
        gross=sales.gross.sum(),
        discount=sales.discount.sum(),
        net=sales.net_revenue.sum(),
        cost=sales.cost.sum(),
        lines=sales.count(),
    )
    sale = orders.kind != "return"
    values = {
        "gross_revenue": _when(sale, orders.gross),
        "discounts": _when(sale, orders.discount),
        "return_revenue": _when(~sale, orders.net),
        "cogs": orders.cost,
    }
    for key, rule, (lo, hi) in active:
        inside = orders.date.between(lo, hi)
        if rule.basis in (CostBasis.PER_ORDER, CostBasis.PER_CUSTOMER):
            values[key] = _when(sale & inside, 1.0)
        elif rule.basis == CostBasis.PER_LINE:
            values[key] = _when(sale & inside, orders.lines)
        elif rule.basis in (CostBasis.PERCENT_OF_REVENUE, CostBasis.FIXED_ALLOCATED):
            values[key] = _when(inside, orders.net)
    parts = [stack(orders, values)]

    costs = _without_deleted(tables, _between(tables["fact_costs"], start, end))
    entered = {name: _when(costs.level == level, costs.amount) for level, name in ENTERED.items()}
    parts.append(stack(costs, entered))

    per_activity = [item for item in active if item[1].basis == CostBasis.PER_ACTIVITY]
    if per_activity:
        acts = _without_deleted(tables, _between(tables["fact_interactions"], start, end))

        def counted(table: ibis.Table) -> dict:
            return {
                key: table.done & (table.kind == rule.activity_kind) & table.date.between(lo, hi)
                for key, rule, (lo, hi) in per_activity
            }

        acts = acts.filter(ibis.or_(*counted(acts).values()))
        parts.append(stack(acts, {key: _when(c, 1.0) for key, c in counted(acts).items()}))

    facts = ibis.union(*parts)
    return facts.group_by("party_id").aggregate(**{name: facts[name].sum() for name in names})


def contribution_margins(
    tables: Tables,
    rules: Sequence[RuleSpec],
    start: dt.date,
    end: dt.date,
    *,
    breakdown: bool = False,
) -> ibis.Table:
    """CM I–IV per customer for the days ``start`` to ``end`` (both included).

    gross_revenue and discounts are sums over non-returns; returns = −Σ net revenue of returns
    (a positive amount); net_revenue = gross_revenue − discounts − returns; cogs = Σ cost
    (returned goods reduce it). Order, relationship and fixed costs are the entered costs of
    the level plus its rules; cmN_pct is cmN as a per cent of net revenue (null without
    positive revenue). Rule bases: per_order × distinct non-return transactions, per_line ×
    non-return lines, per_activity × completed activities of the kind, percent_of_revenue ×
    net revenue (never below 0), per_customer (yearly amount × months ÷ 12 for each customer
    with a sale), fixed_allocated (yearly amount × months ÷ 12, shared by positive net
    revenue). Each rule counts the facts inside its validity only. ``breakdown`` keeps the
    entered costs per level and one column per rule (its ``key``).
    """
    if end < start:
        raise ValueError("The period ends before it starts.")
    active = []
    for index, rule in enumerate(rules):
        window = rule.window(start, end)
        if window is not None:
            active.append((rule.key or f"rule_{index}", rule, window))

    t = _facts_per_party(tables, active, start, end)
    whole = ibis.window()
    rule_costs = {}
    for key, rule, (lo, hi) in active:
        quantity, amount = t[key], rule.amount
        yearly = amount * period_months(lo, hi) / 12.0
        if rule.basis in (CostBasis.PER_ORDER, CostBasis.PER_LINE, CostBasis.PER_ACTIVITY):
            cost = quantity * amount
        elif rule.basis == CostBasis.PERCENT_OF_REVENUE:
            cost = ibis.greatest(quantity, 0.0) * (amount / 100.0)
        elif rule.basis == CostBasis.PER_CUSTOMER:
            cost = ibis.cases((quantity > 0, yearly), else_=0.0)
        else:  # fixed_allocated
            positive = ibis.greatest(quantity, 0.0)
            total = positive.sum().over(whole)
            cost = ibis.cases((total > 0, yearly * positive / total), else_=0.0)
        rule_costs[key] = cost.cast("float64").round(2)
    t = t.mutate(**rule_costs)

    def level_costs(level: str) -> ibis.Value:
        value = t[ENTERED[level]]
        for key, rule, _window in active:
            if rule.level == level:
                value = value + t[key]
        return value.round(2)

    t = t.mutate(
        gross_revenue=t.gross_revenue.round(2),
        discounts=t.discounts.round(2),
        returns=(0.0 - t.return_revenue).round(2),  # not -x: no “-0.0” without returns
        cogs=t.cogs.round(2),
        **{name: level_costs(level) for level, name in LEVEL_COSTS.items()},
    )
    net = t.gross_revenue - t.discounts - t.returns
    cm1 = net - t.cogs
    cm2 = cm1 - t.order_costs
    cm3 = cm2 - t.relationship_costs
    cm4 = cm3 - t.fixed_costs
    t = t.mutate(
        net_revenue=net.round(2), cm1=cm1.round(2), cm2=cm2.round(2), cm3=cm3.round(2)
    ).mutate(cm4=cm4.round(2))
    t = t.mutate(
        **{
            f"{level}_pct": ibis.cases(
                (t.net_revenue > 0, (t[level] * 100.0 / t.net_revenue).round(1)),
                else_=ibis.null("float64"),
            )
            for level in LEVELS
        }
    )
    extra = [*ENTERED.values(), *(key for key, _rule, _window in active)] if breakdown else []
    return t.select(*COLUMNS, *extra)


def ranking(margins: ibis.Table, *, level: str = "cm4", descending: bool = True) -> ibis.Table:
    """The customers in order of ``level`` (a CM or net revenue) with rank, share of the total
    and cumulative share — the whale curve: above 1 while unprofitable customers still follow.
    Shares are null when the total is not positive. Ties go by party id."""
    if level not in RANK_KEYS:
        raise ValueError(f"unknown level {level!r}")
    value = margins[level]
    order = [ibis.desc(value) if descending else value.asc(), margins.party_id.asc()]
    total = value.sum().over(ibis.window())
    running = value.sum().over(ibis.window(order_by=order, rows=(None, 0)))
    ranked = margins.mutate(
        rank=ibis.row_number().over(ibis.window(order_by=order)) + 1,
        share=ibis.cases((total > 0, (value / total).round(4)), else_=ibis.null("float64")),
        cumulative_share=ibis.cases(
            (total > 0, (running / total).round(4)), else_=ibis.null("float64")
        ),
    )
    return ranked.order_by(ranked["rank"])


def totals(margins: ibis.Table) -> ibis.Table:
    """One row: the number of customers and every amount summed (for the totals waterfall)."""
    sums = {name: margins[name].sum().fill_null(0).round(2) for name in MONEY_COLUMNS}
    return margins.aggregate(customers=margins.count(), **sums)


def only_visible(margins: ibis.Table, *, user: User) -> ibis.Table:
    """The rows of the parties the user may see (kreis.parties.queries.party_list_for_user).

    Administrators see every party that is not deleted; ``contribution_margins`` has already
    dropped the deleted ones, so their ids need not travel to the warehouse."""
    if user.is_admin:
        return margins
    ids = list(
        party_list_for_user(user=user)
        .select_related(None)
        .prefetch_related(None)
        .order_by()
        .values_list("pk", flat=True)
    )
    visible = ibis.memtable(pa.table({"party_id": pa.array(ids, pa.int64())}))
    return margins.semi_join(visible, "party_id")


def with_entered_costs(tables: Tables, *, start: dt.date, end: dt.date) -> dict[str, ibis.Table]:
    """The tables with ``fact_costs`` read from the cost entries as they are now, so an entry
    counts as soon as it is saved rather than after the next warehouse refresh."""
    rows = list(
        CostEntry.objects.filter(
            date__range=(start, end), party__deleted_at__isnull=True
        ).values_list("pk", "party_id", "date", "level", "category", "amount")
    )
    ids, parties, dates, levels, categories, amounts = (
        [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * 6
    )
    table = pa.table(
        {
            "entry_id": pa.array(ids, pa.int64()),
            "party_id": pa.array(parties, pa.int64()),
            "date": pa.array(dates, pa.date32()),
            "level": pa.array(levels, pa.string()),
            "category": pa.array(categories, pa.string()),
            "amount": pa.array(amounts, pa.decimal128(14, 2)).cast(pa.float64()),
        }
    )
    return {**tables, "fact_costs": ibis.memtable(table)}


class WarehouseUnavailable(Exception):
    """The warehouse is empty, being refreshed or misconfigured; try again later."""


def open_tables() -> dict[str, ibis.Table]:
    """The warehouse tables on a connection of their own (close with ``close_tables``)."""
    try:
        return dict(warehouse.tables())
    except (warehouse.WarehouseBusy, warehouse.WarehouseError) as exc:
        raise WarehouseUnavailable(str(exc)) from exc


def close_tables(tables: Tables) -> None:
    """Close the tables' connection: DuckDB lets a refresh write only when no reader holds
    the file. In-memory tables on the default backend are left alone."""
    for table in tables.values():
        try:
            con = table.get_backend()
        except Exception:  # noqa: BLE001 — an unbound table has nothing to close
            return
        if con is not ibis.get_backend():
            con.disconnect()
        return


@contextmanager
def warehouse_tables() -> Iterator[dict[str, ibis.Table]]:
    tables = open_tables()
    try:
        yield tables
    finally:
        close_tables(tables)


def margins_for_user(
    tables: Tables, *, user: User, start: dt.date, end: dt.date, breakdown: bool = False
) -> ibis.Table:
    """CM I–IV of the period for the customers the user may see, with the active rules and
    the cost entries as they are now."""
    fresh = with_entered_costs(tables, start=start, end=end)
    margins = contribution_margins(fresh, rules_from_db(), start, end, breakdown=breakdown)
    return only_visible(margins, user=user)


def party_names(ids: list[int]) -> dict[int, str]:
    return dict(Party.objects.filter(pk__in=ids).values_list("pk", "name"))


def empty_row(party_id: int) -> dict:
    return {"party_id": party_id, **dict.fromkeys(MONEY_COLUMNS, 0.0), **dict.fromkeys(PCT_COLUMNS)}


def party_margin(
    tables: Tables, *, party_id: int, start: dt.date, end: dt.date
) -> tuple[dict, list[dict]]:
    """One customer's margins (zeros without facts) and what their costs consist of: the
    entered costs per level and each rule with an amount, as (label, level, amount)."""
    rules = rules_from_db()
    fresh = with_entered_costs(tables, start=start, end=end)
    margins = contribution_margins(fresh, rules, start, end, breakdown=True)
    found = margins.filter(margins.party_id == party_id).to_pyarrow().to_pylist()
    row = found[0] if found else empty_row(party_id)
    parts = [
        {"label": _("Entered by hand"), "level": level, "amount": row.get(column) or 0.0}
        for level, column in ENTERED.items()
    ]
    parts += [
        {"label": rule.name, "level": rule.level, "amount": row.get(rule.key) or 0.0}
        for rule in rules
    ]
    labels = dict(CostLevel.choices)
    breakdown = [{**part, "level_label": labels[part["level"]]} for part in parts if part["amount"]]
    breakdown.sort(key=lambda part: list(LEVEL_COSTS).index(part["level"]))
    return row, breakdown


# --- Waterfall --------------------------------------------------------------------------------

STEPS = (
    ("gross_revenue", gettext_lazy("Gross revenue"), "total"),
    ("deductions", gettext_lazy("Sales deductions"), "delta"),
    ("net_revenue", gettext_lazy("Net revenue"), "total"),
    ("cogs", gettext_lazy("Cost of goods"), "delta"),
    ("cm1", gettext_lazy("CM I"), "total"),
    ("order_costs", gettext_lazy("Order costs"), "delta"),
    ("cm2", gettext_lazy("CM II"), "total"),
    ("relationship_costs", gettext_lazy("Relationship costs"), "delta"),
    ("cm3", gettext_lazy("CM III"), "total"),
    ("fixed_costs", gettext_lazy("Fixed costs"), "delta"),
    ("cm4", gettext_lazy("CM IV"), "total"),
)
COLORS = {"total": "#0d6efd", "negative": "#842029", "up": "#198754", "down": "#dc3545"}


def waterfall(row: Mapping[str, float]) -> list[dict]:
    """The steps from gross revenue to CM IV: totals stand on zero, each deduction hangs from
    the level before it (``start`` → ``end``, ``value`` signed)."""
    steps = []
    level = 0.0
    for key, label, kind in STEPS:
        if kind == "total":
            value = float(row[key] or 0)
            start = 0.0
        else:
            spent = row["discounts"] + row["returns"] if key == "deductions" else row[key]
            value = -float(spent or 0)
            start = level
        level = value if kind == "total" else start + value
        steps.append(
            {
                "key": key,
                "label": str(label),
                "kind": kind,
                "value": round(value, 2),
                "start": round(start, 2),
                "end": round(level, 2),
            }
        )
    return steps


def waterfall_option(steps: Sequence[Mapping], *, title: str = "") -> dict:
    """An ECharts option: a stacked bar whose transparent base lifts each step to its level;
    totals blue (dark red below zero), increases green, decreases red. Bars crossing zero are
    split into a positive and a negative part, because ECharts stacks the signs apart."""
    base, up, down = [], [], []
    for step in steps:
        lo, hi = sorted((step["start"], step["end"]))
        if step["kind"] == "total":
            color = COLORS["total"] if step["value"] >= 0 else COLORS["negative"]
        else:
            color = COLORS["up"] if step["value"] >= 0 else COLORS["down"]
        if lo >= 0:
            lift, above, below = lo, hi - lo, 0.0
        elif hi <= 0:
            lift, above, below = hi, 0.0, lo - hi
        else:
            lift, above, below = 0.0, hi, lo
        tip = {"formatter": f"{step['label']}: {money(step['value'])}"}
        style = {"color": color}
        base.append(round(lift, 2))
        up.append({"value": round(above, 2), "itemStyle": style, "tooltip": tip})
        down.append({"value": round(below, 2), "itemStyle": style, "tooltip": tip})
    hidden = {"color": "transparent", "borderColor": "transparent"}
    bar = {"type": "bar", "stack": "waterfall", "barMaxWidth": 48}
    option = {
        "aria": {"enabled": True},
        "tooltip": {"trigger": "item"},
        "grid": {"left": 16, "right": 16, "top": 40 if title else 16, "bottom": 8},
        "xAxis": {
            "type": "category",
            "data": [step["label"] for step in steps],
            "axisLabel": {"interval": 0, "rotate": 30},
        },
        "yAxis": {"type": "value"},
        "series": [
            {
                **bar,
                "name": "base",
                "itemStyle": hidden,
                "silent": True,
                "tooltip": {"show": False},
                "emphasis": {"disabled": True},
                "data": base,
            },
            {**bar, "name": "up", "data": up},
            {**bar, "name": "down", "data": down},
        ],
    }
    option["grid"]["containLabel"] = True
    if title:
        option["title"] = {"text": title, "left": "center", "textStyle": {"fontSize": 13}}
    return option


# --- Cost entries and rules in the database ---------------------------------------------------


def cost_entry_list_for_user(
    *,
    user: User,
    party_id: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> QuerySet[CostEntry]:
    """Cost entries of the parties the user may see, newest first."""
    visible = party_list_for_user(user=user).order_by().values("pk")
    qs = CostEntry.objects.filter(party__in=visible)
    if party_id is not None:
        qs = qs.filter(party_id=party_id)
    if start is not None:
        qs = qs.filter(date__gte=start)
    if end is not None:
        qs = qs.filter(date__lte=end)
    return qs.select_related("party", "created_by")


def cost_entry_get_for_user(*, user: User, pk: int, write: bool = False) -> CostEntry:
    """A cost entry of a party the user may see; 404 otherwise. With ``write`` a user who may
    see but not change the party is refused (403)."""
    entry = (
        CostEntry.objects.filter(pk=pk, party__deleted_at__isnull=True)
        .select_related("party")
        .first()
    )
    if entry is None or not user.has_perm("core.view_record", entry.party):
        raise Http404
    if write and not user.has_perm("core.change_record", entry.party):
        raise PermissionDenied
    return entry


def cost_rule_get(*, pk: int) -> CostRule:
    rule = CostRule.objects.filter(pk=pk).first()
    if rule is None:
        raise Http404
    return rule


def _admin(actor: User | None) -> None:
    if actor is not None and not actor.is_admin:
        raise PermissionDenied


@transaction.atomic
def cost_entry_create(
    *,
    actor: User | None,
    party: Party,
    date: dt.date,
    category: str,
    amount: Decimal,
    level: str = "",
    note: str = "",
) -> CostEntry:
    """Enter a cost of one customer by hand; it counts in the margins from now on."""
    if actor is not None and not actor.has_perm("core.change_record", party):
        raise PermissionDenied
    entry = CostEntry(
        party=party,
        date=date,
        category=category,
        level=level_for(category, level),
        amount=amount,
        note=note,
        created_by=actor,
    )
    entry.full_clean()
    entry.save()
    return entry


@transaction.atomic
def cost_entry_delete(*, actor: User | None, entry: CostEntry) -> None:
    if actor is not None and not actor.has_perm("core.change_record", entry.party):
        raise PermissionDenied
    entry.delete()


def _clean_rule(rule: CostRule) -> None:
    rule.level = level_for(rule.category, rule.level)
    if rule.basis != CostBasis.PER_ACTIVITY:
        rule.activity_kind = ""  # a leftover of an earlier basis, not a mistake
    rule.full_clean()


@transaction.atomic
def cost_rule_create(*, actor: User | None, **fields: object) -> CostRule:
    """Add a cost rule (administrators); it applies to every period it is valid in."""
    _admin(actor)
    rule = CostRule(**fields)
    _clean_rule(rule)
    rule.save()
    return rule


@transaction.atomic
def cost_rule_update(*, actor: User | None, rule: CostRule, **changes: object) -> CostRule:
    _admin(actor)
    if "category" in changes and "level" not in changes:
        changes["level"] = ""  # follows the new category
    for name, value in changes.items():
        setattr(rule, name, value)
    _clean_rule(rule)
    rule.save()
    return rule


@transaction.atomic
def cost_rule_deactivate(*, actor: User | None, rule: CostRule) -> CostRule:
    """Switch a rule off; it is kept, so it can be switched on again."""
    _admin(actor)
    rule.is_active = False
    rule.save(update_fields=["is_active", "updated_at"])
    return rule
