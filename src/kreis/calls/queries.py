"""Reads of the phone channel, permission-aware: the call lists a user sees, one list, its
entries, progress and results, and the CSV export of the results."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from kreis.activities.models import Activity
from kreis.calls.models import CallList, CallListEntry, CallResult, EntryState, SkipReason
from kreis.core.models import Role, User


def lists_for_user(*, user: User) -> QuerySet[CallList]:
    """The call lists the user sees: all for administrators and sales managers; otherwise
    those assigned to them, their teams' and their own (the query form of ``calls.view_list``)."""
    if not user.is_authenticated or not user.is_active:
        return CallList.objects.none()
    qs = CallList.objects.select_related("owner", "team", "segment", "campaign")
    if user.is_admin or user.role == Role.SALES_MANAGER:
        return qs
    return qs.filter(
        Q(assignees=user) | Q(team_id__in=user.team_ids()) | Q(owner_id=user.pk)
    ).distinct()


def list_get_for_user(*, user: User, pk: int, perm: str = "calls.view_list") -> CallList:
    """A list the user may see (else ``Http404``), and act on with ``perm`` (else
    ``PermissionDenied``)."""
    call_list = (
        CallList.objects.select_related("owner", "team", "segment", "campaign")
        .filter(pk=pk)
        .first()
    )
    if call_list is None or not user.has_perm("calls.view_list", call_list):
        raise Http404
    if perm != "calls.view_list" and not user.has_perm(perm, call_list):
        raise PermissionDenied
    return call_list


def entry_get_for_user(*, user: User, pk: int, perm: str = "calls.view_list") -> CallListEntry:
    entry = (
        CallListEntry.objects.select_related("call_list", "party", "claimed_by", "called_by")
        .filter(pk=pk)
        .first()
    )
    if entry is None:
        raise Http404
    list_get_for_user(user=user, pk=entry.call_list_id, perm=perm)
    return entry


def entries(call_list: CallList, *, state: str = "", result: str = "") -> QuerySet[CallListEntry]:
    qs = call_list.entries.select_related("party", "called_by", "claimed_by")
    if state:
        qs = qs.filter(state=state)
    if result:
        qs = qs.filter(result=result)
    return qs.order_by("position")


@dataclass
class Results:
    total: int = 0
    states: dict[str, int] = field(default_factory=dict)
    results: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def to_call(self) -> int:
        return self.total - self.states.get(EntryState.SKIPPED, 0)

    @property
    def finished(self) -> int:
        return self.states.get(EntryState.DONE, 0)

    @property
    def percent(self) -> int:
        return round(100 * self.finished / self.to_call) if self.to_call else 0

    def state_rows(self) -> list[tuple[str, str, int]]:
        return [(s.value, s.label, self.states.get(s.value, 0)) for s in EntryState]

    def result_rows(self) -> list[tuple[str, str, int]]:
        return [(r.value, r.label, self.results.get(r.value, 0)) for r in CallResult]

    def skip_rows(self) -> list[tuple[str, str, int]]:
        return [(r.value, r.label, n) for r in SkipReason if (n := self.skipped.get(r.value, 0))]

    def chart(self) -> dict:
        """The chart's payload (``analytics/charts.js``): an ECharts option, entries per
        latest result, and whether there is anything to draw yet."""
        rows = [(str(label), n) for _v, label, n in self.result_rows()]
        option = {
            "tooltip": {"trigger": "axis"},
            "grid": {"left": 8, "right": 16, "top": 8, "bottom": 8, "containLabel": True},
            "xAxis": {"type": "value", "minInterval": 1},
            "yAxis": {"type": "category", "inverse": True, "data": [r[0] for r in rows]},
            "series": [{"type": "bar", "name": _("Entries"), "data": [r[1] for r in rows]}],
        }
        return {"option": option, "empty": not any(n for _label, n in rows)}


def results(call_list: CallList) -> Results:
    """Progress and results of a list in two grouped queries."""
    out = Results()
    for state, reason, n in (
        call_list.entries.values_list("state", "skip_reason").annotate(n=Count("pk")).order_by()
    ):
        out.total += n
        out.states[state] = out.states.get(state, 0) + n
        if reason:
            out.skipped[reason] = out.skipped.get(reason, 0) + n
    for result, n in (
        call_list.entries.exclude(result="")
        .values_list("result")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        out.results[result] = n
    return out


def recent_calls(*, party_id: int, limit: int = 5) -> list[Activity]:
    """The party's last interactions, shown beside the number while working a list."""
    return list(
        Activity.objects.filter(party_id=party_id, deleted_at__isnull=True)
        .only("kind", "subject", "occurred_at", "outcome", "duration_minutes", "party_id")
        .order_by("-occurred_at", "-pk")[:limit]
    )


EXPORT_HEADER = (
    "position",
    "party_id",
    "party",
    "phone",
    "state",
    "skipped_because",
    "result",
    "calls",
    "last_called_by",
    "last_called_at",
    "call_back_at",
)


def export_rows(call_list: CallList) -> Iterator[list]:
    """The list's results, one row per entry (written with ``core.web.DefusingWriter``, which
    defuses cells a spreadsheet would run as formulas)."""
    qs = call_list.entries.select_related("party", "called_by").order_by("position")
    for e in qs.iterator(chunk_size=2000):
        called_at = timezone.localtime(e.called_at).isoformat() if e.called_at else ""
        call_back = (
            timezone.localtime(e.due_at).isoformat() if e.state == EntryState.CALL_BACK else ""
        )
        row = [
            e.position,
            e.party_id,
            e.party.name,
            e.phone,
            e.state,
            e.skip_reason,
            e.result,
            e.attempts,
            str(e.called_by) if e.called_by else "",
            called_at,
            call_back,
        ]
        yield row
