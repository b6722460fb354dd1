"""Reads of cases, permission-aware (the rule is in ``kreis.service.rules``)."""

from __future__ import annotations

from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from kreis.core.models import User
from kreis.parties.models import Party
from kreis.service.models import (
    OPEN_STATUSES,
    Case,
    CaseCategory,
    CaseMessage,
    CaseRating,
    CaseStatus,
    CaseTransition,
    RootCause,
)
from kreis.service.rules import sees_all_cases

SORTS = {
    "-created": ("-created_at", "-pk"),
    "created": ("created_at", "pk"),
    "due": (F("resolve_due_at").asc(nulls_last=True), "pk"),
    "-severity": ("-severity_rank", "-created_at", "-pk"),
    "number": ("number",),
    "-number": ("-number",),
    "status": ("status", "-created_at", "-pk"),
}


# Up to this many customers of the user are passed to the case query as a list of ids.
MAX_LISTED_PARTIES = 1000

# What a case number is made of: a search with any other character cannot match one.
NUMBER_CHARACTERS = frozenset("C-0123456789")


def visible_cases(queryset: QuerySet[Case], *, user: User) -> QuerySet[Case]:
    """The query form of ``service.view_case``."""
    if not user.is_authenticated or not user.is_active:
        return queryset.none()
    if sees_all_cases(user):
        return queryset
    teams = user.team_ids()
    # The customers' rule by the parties' ids, not a join: with the join in the OR the database
    # walks every case with its party (a COUNT over 100,000 cases: 700 ms on SQLite). As three
    # IN terms each is answered from an index (owner, team, party) and the results merged;
    # PostgreSQL merges them only for a list of ids, not for a subquery (then it reads every
    # case), so a short list is fetched first and a long one stays a subquery.
    parties = (
        Party.objects.filter(Q(owner_id=user.pk) | Q(team_id__in=teams)).order_by().values("pk")
    )
    party_ids = list(parties.values_list("pk", flat=True)[: MAX_LISTED_PARTIES + 1])
    return queryset.filter(
        Q(owner_id=user.pk)
        | Q(team_id__in=teams)
        | Q(party_id__in=parties if len(party_ids) > MAX_LISTED_PARTIES else party_ids)
    )


def _severity_rank():
    from django.db.models import Case as When_
    from django.db.models import IntegerField, Value, When

    return When_(
        When(severity="low", then=Value(1)),
        When(severity="medium", then=Value(2)),
        When(severity="high", then=Value(3)),
        When(severity="critical", then=Value(4)),
        default=Value(0),
        output_field=IntegerField(),
    )


def overdue_q(now=None) -> Q:
    """Open cases past their next deadline (not while waiting for the customer)."""
    now = now or timezone.now()
    return Q(status__in=OPEN_STATUSES, waiting_for_customer=False) & (
        Q(acknowledged_at__isnull=True, ack_due_at__lt=now)
        | Q(acknowledged_at__isnull=False, resolve_due_at__lt=now)
    )


def case_list_for_user(
    *,
    user: User,
    status: str = "",
    severity: str = "",
    owner_id: int | None = None,
    category_id: int | None = None,
    party_id: int | None = None,
    overdue: bool = False,
    open_only: bool = False,
    waiting_for_supplier: bool = False,
    search: str = "",
    sort: str = "-created",
) -> QuerySet[Case]:
    from django.db.models import Exists, OuterRef

    from kreis.service.models import SupplierRequest

    # Whether the case waits for a supplier's answer (an open request): shown in the list.
    qs = visible_cases(Case.objects.all(), user=user).annotate(
        waiting_supplier=Exists(SupplierRequest.objects.filter(case=OuterRef("pk"), status="open"))
    )
    if waiting_for_supplier:
        qs = qs.filter(waiting_supplier=True)
    if status:
        qs = qs.filter(status=status)
    if severity:
        qs = qs.filter(severity=severity)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if category_id:
        qs = qs.filter(category_id=category_id)
    if party_id:
        qs = qs.filter(party_id=party_id)
    if open_only:
        qs = qs.filter(status__in=OPEN_STATUSES)
    if overdue:
        qs = qs.filter(overdue_q())
    if search:
        matches = Q(subject__icontains=search) | Q(party_id__in=_parties_named(search))
        if set(search.upper()) <= NUMBER_CHARACTERS:  # a number ("C-2026-000123") or part
            matches |= Q(number__icontains=search)
        qs = qs.filter(matches)
    if sort == "-severity":
        qs = qs.annotate(severity_rank=_severity_rank())
    return qs.select_related("party", "owner", "category").order_by(
        *SORTS.get(sort, SORTS["-created"])
    )


# Up to this many customers match a search by name, their ids go into the case query as a
# list, so that PostgreSQL answers "subject matches OR one of these customers" from the
# subject's trigram index and the party index together (a bitmap OR); with a subquery it
# filters every visible case instead. A broader name ("GmbH") stays a subquery.
PARTY_ID_LIST_LIMIT = 500


def _parties_named(search: str):
    """The customers whose name contains ``search``: their ids, or a subquery if many."""
    parties = Party.objects.filter(name__icontains=search).values("pk")
    ids = list(parties.values_list("pk", flat=True)[: PARTY_ID_LIST_LIMIT + 1])
    return parties if len(ids) > PARTY_ID_LIST_LIMIT else ids


def case_get_for_user(*, user: User, pk: int, write: bool = False) -> Case:
    """A case the user may see (or handle, with ``write``); 404 otherwise."""
    case = (
        Case.objects.filter(pk=pk)
        .select_related("party", "contact", "owner", "team", "category", "product", "root_cause")
        .first()
    )
    perm = "service.change_case" if write else "service.view_case"
    if case is None or not user.has_perm(perm, case):
        raise Http404
    return case


def case_timeline(*, case: Case, customer_view: bool = False) -> list[dict]:
    """Transitions, messages and resolution ratings of a case, oldest first.
    ``customer_view``: only what the customer may see (replies and their own messages; never
    internal notes)."""
    messages = CaseMessage.objects.filter(case=case).select_related("author")
    if customer_view:
        from kreis.service.models import CUSTOMER_VISIBLE

        messages = messages.filter(kind__in=CUSTOMER_VISIBLE)
        return [{"type": "message", "at": m.created_at, "item": m} for m in messages]
    entries = [{"type": "message", "at": m.created_at, "item": m} for m in messages]
    for t in CaseTransition.objects.filter(case=case).select_related("actor"):
        entries.append({"type": "transition", "at": t.created_at, "item": t})
    for r in CaseRating.objects.filter(case=case):  # the customer's rating, a system entry
        entries.append({"type": "rating", "at": r.created_at, "item": r})
    entries.sort(key=lambda e: (e["at"], 0 if e["type"] == "transition" else 1))
    return entries


def open_severe_case_numbers(*, party_ids) -> dict[int, list[str]]:
    """The numbers of each party's open high- and critical-severity cases."""
    from kreis.service.models import SEVERE

    found: dict[int, list[str]] = {}
    rows = (
        Case.objects.filter(party_id__in=party_ids, status__in=OPEN_STATUSES, severity__in=SEVERE)
        .order_by("created_at")
        .values_list("party_id", "number")
    )
    for party_id, number in rows:
        found.setdefault(party_id, []).append(number)
    return found


def categories() -> QuerySet[CaseCategory]:
    return CaseCategory.objects.filter(is_active=True)


def root_causes() -> QuerySet[RootCause]:
    return RootCause.objects.filter(is_active=True)


STATUS_ORDER = list(CaseStatus.values)
