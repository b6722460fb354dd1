"""The inbox's pages: the queue with filters, selection and bulk actions (keyboard: j/k to
move, x to select, e done, a assign — ``static/inbox/inbox.js``), and one item with its
links, its SLA, its history and the same actions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from kreis.core.models import Team, User
from kreis.inbox import queries, services
from kreis.inbox.forms import ItemActionForm
from kreis.inbox.models import InboxChannel, ItemStatus

PAGE_SIZE = 50


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 12 else None


def _filters(request: HttpRequest) -> queries.ItemFilters:
    get = request.GET
    status = get.get("status", "")
    return queries.ItemFilters(
        channel=get.get("channel", "") if get.get("channel") in InboxChannel.values else "",
        status=status if status in (*ItemStatus.values, "all") else "",
        assignee=get.get("assignee", "") if get.get("assignee") in queries.ASSIGNEE_FILTERS else "",
        breached=get.get("breached") == "1",
        party_id=_int(get.get("party")),
        search=(get.get("q") or "").strip()[:100],
    )


def _assignable(request: HttpRequest) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Whom the pages offer to assign to: the active members of the user's teams and those
    teams (administrators: every active user, at most 300, and every team). Two plain
    queries on every request, no cache to go stale."""
    user = request.user
    users = User.objects.filter(is_active=True)
    teams = Team.objects.all()
    if not user.is_admin:
        users = users.filter(memberships__team_id__in=user.team_ids()).distinct()
        teams = teams.filter(pk__in=user.team_ids())
    rows = users.order_by("first_name", "last_name", "pk").values_list(
        "pk", "first_name", "last_name", "username"
    )[:300]
    people = [(pk, f"{first} {last}".strip() or username) for pk, first, last, username in rows]
    return people, list(teams.order_by("name").values_list("pk", "name"))


def _action_form(request: HttpRequest, data=None, item=None) -> ItemActionForm:
    """The action form; on one item its present assignee and team stay choosable even when
    they are not among the user's teams."""
    users, teams = _assignable(request)
    if item is not None and item.assignee_id and item.assignee_id not in dict(users):
        users.append((item.assignee_id, str(item.assignee)))
    if item is not None and item.assigned_team_id and item.assigned_team_id not in dict(teams):
        teams.append((item.assigned_team_id, item.assigned_team.name))
    return ItemActionForm(data, users=users, teams=teams)


def _change(form: ItemActionForm, request: HttpRequest) -> services.Change:
    data = form.cleaned_data
    action = data["action"]
    change = services.Change(status=form.status(), answered=action == "answered")
    if action == "snooze":
        change.snoozed_until = data["snoozed_until"]
    if action == "assign":
        change.assignee = services.user_get(data.get("assignee"))
        change.assigned_team = services.team_get(data.get("assigned_team"))
    return change


def _page_number(request: HttpRequest) -> int:
    number = _int(request.GET.get("page"))
    return min(number, 10_000) if number else 1


def _page_link(request: HttpRequest, number: int) -> str:
    query = request.GET.copy()
    query["page"] = str(number)
    return "?" + query.urlencode()


@login_required
def item_list(request: HttpRequest) -> HttpResponse:
    """The queue the user may see, newest first, with filters and bulk actions; paged by
    "previous / next" (no count of the whole queue, see ``queries.item_page_for_user``)."""
    filters = _filters(request)
    number = _page_number(request)
    items, has_more = queries.item_page_for_user(
        user=request.user, filters=filters, page=number, size=PAGE_SIZE
    )
    now = timezone.now()
    for item in items:  # still unanswered after its due time (what the filter "breached" finds)
        item.sla_breached = item.first_responded_at is None and item.is_breached(now)
    context = {
        "items": items,
        "page_number": number,
        "previous_link": _page_link(request, number - 1) if number > 1 else "",
        "next_link": _page_link(request, number + 1) if has_more else "",
        "filters": filters,
        "now": now,
    }
    if request.headers.get("HX-Request"):
        return render(request, "inbox/_rows.html", context)
    context |= {
        "channels": InboxChannel.choices,
        "statuses": ItemStatus.choices,
        "form": _action_form(request),
    }
    return render(request, "inbox/list.html", context)


def _back(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    return target if target.startswith("/inbox/") and "//" not in target else fallback


@login_required
@require_POST
def item_bulk(request: HttpRequest) -> HttpResponse:
    """One action on the selected items, all or nothing."""
    form = _action_form(request, request.POST)
    form.fields["ids"].choices = [(v, v) for v in request.POST.getlist("ids")]
    back = _back(request, "/inbox/")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    visible = set(
        queries.items_for_user(user=request.user)
        .filter(pk__in=form.cleaned_data["ids"])
        .values_list("pk", flat=True)
    )
    ids = [pk for pk in form.cleaned_data["ids"] if pk in visible]
    try:
        if len(ids) != len(form.cleaned_data["ids"]):
            raise ValidationError(_("Some of the selected items are not yours to see."))
        items = services.items_bulk_update(
            actor=request.user, ids=ids, change=_change(form, request)
        )
    except (ValidationError, PermissionDenied) as exc:
        detail = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
        for text in detail:
            messages.error(request, text or _("You may not change these items."))
        return redirect(back)
    messages.success(
        request,
        ngettext("%(n)d item changed.", "%(n)d items changed.", len(items)) % {"n": len(items)},
    )
    return redirect(back)


@login_required
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = queries.item_get_for_user(user=request.user, pk=pk)
    now = timezone.now()
    form = _action_form(request, None, item)
    form.initial = {"assignee": item.assignee_id, "assigned_team": item.assigned_team_id}
    context = {
        "item": item,
        "now": now,
        "breached": item.is_breached(now),
        "source_url": queries.source_url(item),
        "changes": queries.item_changes(item),
        "form": form,
    }
    return render(request, "inbox/detail.html", context)


@login_required
@require_POST
def item_update(request: HttpRequest, pk: int) -> HttpResponse:
    item = queries.item_get_for_user(user=request.user, pk=pk)
    form = _action_form(request, request.POST, item)
    if form.is_valid():
        try:
            services.item_update(actor=request.user, item=item, change=_change(form, request))
        except ValidationError as exc:
            for text in exc.messages:
                messages.error(request, text)
        except PermissionDenied:
            messages.error(request, _("You may not change this item."))
        else:
            messages.success(request, _("Saved."))
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("inbox:detail", pk=item.pk)
