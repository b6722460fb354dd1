"""Pages for activities: list with bulk actions, detail, forms per kind, a record's timeline
(an HTMX partial on party, deal and lead pages) and My day."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kreis.activities import exports, queries, services
from kreis.activities.forms import ActivityForm, QuickAddForm, party_label
from kreis.activities.models import KIND_ICONS, ActivityKind
from kreis.core.bulk import bulk_view
from kreis.core.exports import export_download
from kreis.core.queries import user_list_for_user
from kreis.core.web import (
    is_htmx,
    parse_date,
    parse_id,
    query_without_page,
    safe_next,
)
from kreis.parties import queries as party_queries

PAGE_SIZE = 25
CARD_LIMIT = 5  # entries per section of the My day card on the dashboard
RECORD_URLS = {"party": "/parties/{pk}/", "deal": "/deals/{pk}/", "lead": "/leads/{pk}/"}
ERROR_FIELDS = {
    "party_id": "party",
    "attendee_ids": "attendees",
    "owner_id": "owner",
    "deal_id": None,
    "lead_id": None,
    "team_id": None,
}


def _apply_errors(form, exc: ValidationError) -> None:
    """Put a service's errors on the form field they belong to (API names map to fields)."""
    by_field = exc.error_dict if hasattr(exc, "error_dict") else {None: exc.error_list}
    for key, errors in by_field.items():
        name = ERROR_FIELDS.get(key, key)
        target = name if name in form.fields else None
        for error in errors:
            form.add_error(target, error)


def _date(value: str | None) -> date | None:
    return parse_date(value)


def _int(value: str | None) -> int | None:
    return parse_id(value)


def _list_params(request: HttpRequest) -> dict:
    return exports.list_params(request.GET, user=request.user)


def _mark_permissions(user, activities) -> None:
    for activity in activities:
        activity.can_change = user.has_perm("core.change_record", activity)


@login_required
def activity_list(request: HttpRequest) -> HttpResponse:
    params = _list_params(request)
    activities = queries.activity_list_for_user(user=request.user, **params)
    page = Paginator(activities, PAGE_SIZE).get_page(request.GET.get("page"))
    htmx = is_htmx(request)
    # The filter's and the bulk bar's choice of assignees; the rows partial needs neither.
    owners = [] if htmx else list(user_list_for_user(user=request.user).prefetch_related(None))
    context = {
        "page": page,
        "params": params,
        "owner_param": request.GET.get("owner", ""),
        "kinds": ActivityKind.choices,
        "query": query_without_page(request),
        "owners": owners,
        **services.ACTIVITY_BULK.bar(url=reverse("activities:bulk"), owners=owners),
        "states": [
            ("open", _("Open")),
            ("overdue", _("Overdue")),
            ("done", _("Done")),
        ],
        "sorts": [
            ("-date", _("Newest first")),
            ("date", _("Oldest first")),
            ("subject", _("Subject A–Z")),
            ("-created", _("Recently added")),
        ],
    }
    template = "activities/_rows.html" if htmx else "activities/list.html"
    return render(request, template, context)


@login_required
def activity_export(request: HttpRequest, fmt: str = "csv") -> StreamingHttpResponse:
    """The list as it is filtered and sorted: CSV, Excel or JSON; the body as plain text."""
    export = exports.activity_export(user=request.user, query=request.GET)
    return export_download(request, export, fmt)


activity_bulk = bulk_view(
    actions=services.ACTIVITY_BULK,
    records=queries.activities_for_bulk,
    list_url="activities:list",
)


def _anchor(request: HttpRequest, source=None, light: bool = False) -> tuple[str, object] | None:
    """The party, deal or lead named in the query (``?party=12``); 404 if not visible.
    ``light``: only its id, kind, owner and team (enough to show a timeline)."""
    source = source if source is not None else request.GET
    user = request.user
    for name, fetch in (
        ("party", queries.party_for_user),
        ("deal", queries.deal_for_user),
        ("lead", queries.lead_for_user),
    ):
        value = source.get(name)
        if value:
            pk = parse_id(str(value))
            if pk is None:
                raise Http404
            return name, fetch(user=user, pk=pk, light=light)
    return None


@login_required
def activity_create(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in ActivityKind.values:
        raise Http404
    if request.user.is_read_only:
        raise PermissionDenied
    anchor = _anchor(request)
    links = {anchor[0]: anchor[1]} if anchor else {}
    initial = {"owner": request.user}
    if "party" in links:
        initial["party"] = party_label(links["party"])
    parties = queries.parties_for_user(user=request.user)
    form = ActivityForm(request.POST or None, kind=kind, parties=parties, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        party = data.pop("party", None) or links.get("party")
        try:
            activity = services.activity_create(
                actor=request.user,
                kind=kind,
                party=party,
                deal=links.get("deal"),
                lead=links.get("lead"),
                **data,
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("“%s” saved.") % activity)
            return redirect(safe_next(request, f"/activities/{activity.pk}/"))
    context = {
        "form": form,
        "kind": kind,
        "kind_label": ActivityKind(kind).label,
        "activity": None,
        "links": links,
        "next": safe_next(request, ""),
    }
    return render(request, "activities/form.html", context)


@login_required
def activity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    activity = queries.activity_get_for_user(user=request.user, pk=pk, write=True)
    initial = {
        "subject": activity.subject,
        "occurred_at": timezone.localtime(activity.occurred_at),
        "ends_at": timezone.localtime(activity.ends_at) if activity.ends_at else None,
        "reminder_at": timezone.localtime(activity.reminder_at) if activity.reminder_at else None,
        "direction": activity.direction,
        "duration_minutes": activity.duration_minutes,
        "outcome": activity.outcome,
        "location": activity.location,
        "party": party_label(activity.party) if activity.party else "",
        "attendees": [party_label(p) for p in activity.attendees.all()],
        "body": activity.body,
        "owner": activity.owner,
    }
    parties = queries.parties_for_user(user=request.user)
    form = ActivityForm(
        request.POST or None,
        kind=activity.kind,
        parties=parties,
        initial=initial,
        creating=False,
    )
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        if "owner" in data and data["owner"] is None:
            data["owner"] = activity.owner
        try:
            services.activity_update(actor=request.user, activity=activity, **data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("“%s” saved.") % activity)
            return redirect(safe_next(request, f"/activities/{activity.pk}/"))
    context = {
        "form": form,
        "kind": activity.kind,
        "kind_label": activity.get_kind_display(),
        "activity": activity,
        "links": {},
        "next": safe_next(request, ""),
    }
    return render(request, "activities/form.html", context)


@login_required
def activity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    activity = queries.activity_get_for_user(user=request.user, pk=pk)
    _mark_permissions(request.user, [activity])
    context = {"activity": activity}
    return render(request, "activities/detail.html", context)


@login_required
@require_POST
def activity_delete(request: HttpRequest, pk: int) -> HttpResponse:
    activity = queries.activity_get_for_user(user=request.user, pk=pk, write=True)
    services.activity_delete(actor=request.user, activity=activity)
    messages.success(request, _("“%s” deleted.") % activity)
    return redirect(safe_next(request, "/activities/"))


def _toggle(request: HttpRequest, pk: int, *, done: bool) -> HttpResponse:
    activity = queries.activity_get_for_user(user=request.user, pk=pk, write=True)
    try:
        if done:
            services.activity_complete(actor=request.user, activity=activity)
        else:
            services.activity_reopen(actor=request.user, activity=activity)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    if is_htmx(request):
        _mark_permissions(request.user, [activity])
        context = {"activity": activity, "show_party": True}
        return render(request, "activities/_entry.html", context)
    return redirect(safe_next(request, f"/activities/{activity.pk}/"))


@login_required
@require_POST
def activity_complete(request: HttpRequest, pk: int) -> HttpResponse:
    return _toggle(request, pk, done=True)


@login_required
@require_POST
def activity_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    return _toggle(request, pk, done=False)


@login_required
def party_lookup(request: HttpRequest) -> HttpResponse:
    """Suggestions for the party and attendee fields: ``<option>``s of visible parties."""
    text = next(
        (request.GET[k] for k in ("party", "attendees", "q") if request.GET.get(k, "").strip()),
        "",
    )
    text = text.split(" (#")[0].strip()[:100]
    parties = []
    if len(text) >= 2:
        parties = party_queries.party_list_for_user(user=request.user, search=text)[:20]
    return render(request, "parties/_lookup_options.html", {"parties": parties})


def _chips(anchor_query: str, kinds: list[str]) -> list[dict]:
    """The channel filter: one chip per kind, each toggling itself in the selection."""
    chips = []
    for value, label in ActivityKind.choices:
        selected = [k for k in kinds if k != value] if value in kinds else [*kinds, value]
        query = anchor_query + "".join(f"&{urlencode({'kind': k})}" for k in selected)
        chips.append(
            {
                "value": value,
                "label": label,
                "icon": KIND_ICONS[value],
                "active": value in kinds,
                "query": query,
            }
        )
    return chips


@login_required
def timeline(request: HttpRequest) -> HttpResponse:
    """A party's, deal's or lead's activities (HTMX partial), with a quick-add form on top.

    GET ``?party=12&kind=call&kind=note&page=2``; POST adds a note, call or task and returns
    the refreshed timeline.
    """
    # Showing the timeline needs little of the record; adding to it passes it to the service.
    anchor = _anchor(request, light=request.method != "POST")
    if anchor is None:
        raise Http404
    name, record = anchor
    kinds = [k for k in request.GET.getlist("kind") if k in ActivityKind.values]
    page = _int(request.GET.get("page")) or 1
    anchor_query = urlencode({name: record.pk})
    can_add = not request.user.is_read_only
    form = QuickAddForm()
    if request.method == "POST":
        if not can_add:
            raise PermissionDenied
        form = QuickAddForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            kind = data.pop("kind")
            if kind != ActivityKind.CALL:
                data.pop("direction")
            try:
                services.activity_create(actor=request.user, kind=kind, **{name: record}, **data)
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                form = QuickAddForm()
        page = 1
    entries = queries.timeline(user=request.user, kinds=kinds, page=page, **{name: record})
    _mark_permissions(request.user, entries.entries)
    kind_query = "".join(f"&{urlencode({'kind': k})}" for k in kinds)
    context = {
        "anchor_name": name,
        "record": record,
        "entries": entries,
        "chips": _chips(anchor_query, kinds),
        "anchor_query": anchor_query,
        "filter_query": anchor_query + kind_query,
        "form": form,
        "can_add": can_add,
        "show_party": name != "party" or record.kind == "organization",
        "anchor_party_id": record.pk if name == "party" else None,
        "kinds_selected": kinds,
        "record_url": RECORD_URLS[name].format(pk=record.pk),
        "full_forms": [
            (reverse("activities:create", args=[k]), ActivityKind(k).label)
            for k in (ActivityKind.TASK, ActivityKind.CALL, ActivityKind.MEETING, ActivityKind.NOTE)
        ],
    }
    template = "activities/_timeline_entries.html" if page > 1 else "activities/_timeline.html"
    return render(request, template, context)


@login_required
def my_day(request: HttpRequest) -> HttpResponse:
    """Today's and overdue open tasks and today's meetings of the signed-in user."""
    today = timezone.localdate()
    day = queries.my_day(user=request.user, today=today)
    for group in (day.overdue_tasks, day.today_tasks, day.meetings):
        _mark_permissions(request.user, group)
    if is_htmx(request) and request.GET.get("card"):
        context = {"day": day, "show_party": True, "limit": f":{CARD_LIMIT}", "compact": True}
        return render(request, "activities/_my_day_card.html", context)
    context = {"day": day, "show_party": True, "limit": ":"}
    return render(request, "activities/my_day.html", context)
