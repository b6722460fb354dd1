"""Segment pages: list, condition builder with a live member count, detail with members,
count over time and export, static list changes, and saved views turned into segments."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from kreis.core.exports import export_download
from kreis.core.models import Team, User
from kreis.core.queries import saved_view_get_for_user, visible_records
from kreis.core.web import IndexPaginator, apply_errors, bulk_ids
from kreis.marketing.models import Segment, SegmentKind
from kreis.marketing.segments import queries, services
from kreis.marketing.segments.forms import (
    ConditionRow,
    MembersForm,
    SegmentForm,
    rows_from_conditions,
    rows_from_post,
)
from kreis.parties.exports import list_params, party_export
from kreis.parties.queries import party_list_details, party_list_for_user, party_list_rows
from kreis.service.analysis.charts import lines_svg

PAGE_SIZE = 25


def _require(request: HttpRequest, perm: str, obj=None) -> None:
    if not request.user.has_perm(perm, obj):
        raise PermissionDenied


@login_required
def segment_list(request: HttpRequest) -> HttpResponse:
    _require(request, "marketing.view")
    segments = list(queries.segment_list_for_user(user=request.user))
    context = {
        "segments": segments,
        "can_add": request.user.has_perm("marketing.add"),
    }
    return render(request, "marketing/segments/list.html", context)


def _builder_context(request, form, rows, fields, segment=None) -> dict:
    groups = {}
    for spec in fields.values():
        groups.setdefault(spec.group, []).append(spec)
    users = User.objects.filter(is_active=True).only("id", "username", "first_name", "last_name")
    extra_choices = {
        queries.USER: [[u.pk, str(u.get_full_name() or u.username)] for u in users],
        queries.TEAM: [[t.pk, t.name] for t in Team.objects.only("id", "name")],
    }
    catalogue = {
        spec.key: {
            "type": spec.type,
            "ops": list(spec.operators),
            "choices": [[str(v), str(label)] for v, label in spec.choices]
            or extra_choices.get(spec.type, []),
        }
        for spec in fields.values()
    }
    return {
        "form": form,
        "rows": rows,
        "segment": segment,
        "groups": [(queries.GROUP_LABELS[g], specs) for g, specs in groups.items()],
        "operators": [(op, label) for op, label in queries.OPERATOR_LABELS.items()],
        "catalogue": catalogue,
        "blank_row": ConditionRow(index="__N__"),
        "next_index": (max((r.index for r in rows), default=-1) + 1),
    }


def _builder(request: HttpRequest, segment: Segment | None) -> HttpResponse:
    fields = queries.fields_by_key()
    if request.method != "POST":
        form = SegmentForm(instance=segment, user=request.user)
        rows = rows_from_conditions(segment.conditions if segment else [])
        rows = rows or [ConditionRow(index=0)]
        return render(
            request,
            "marketing/segments/form.html",
            _builder_context(request, form, rows, fields, segment),
        )
    form = SegmentForm(request.POST, instance=segment, user=request.user)
    rows = rows_from_post(request.POST, fields)
    # Without script, "add" and "remove" post the form and come back with the rows changed.
    if "add" in request.POST or "remove" in request.POST:
        removed = request.POST.get("remove")
        rows = [r for r in rows if str(r.index) != removed]
        for n, row in enumerate(rows):
            row.index, row.error = n, ""
        if "add" in request.POST:
            rows.append(ConditionRow(index=len(rows)))
        return render(
            request,
            "marketing/segments/form.html",
            _builder_context(request, form, rows, fields, segment),
        )
    if form.is_valid() and not any(r.error for r in rows):
        data = {
            "name": form.cleaned_data["name"],
            "description": form.cleaned_data["description"],
            "kind": form.cleaned_data["kind"],
            "match": form.cleaned_data["match"],
            "team": form.cleaned_data["team"],
            "conditions": [r.cleaned for r in rows],
        }
        try:
            if segment is None:
                segment = services.segment_create(actor=request.user, **data)
                messages.success(request, _("Segment created."))
            else:
                segment = services.segment_update(actor=request.user, segment=segment, **data)
                messages.success(request, _("Segment saved."))
            return redirect("marketing:segments:detail", segment.pk)
        except ValidationError as exc:
            apply_errors(form, exc)
    return render(
        request,
        "marketing/segments/form.html",
        _builder_context(request, form, rows, fields, segment),
        status=422,
    )


@login_required
def segment_create(request: HttpRequest) -> HttpResponse:
    _require(request, "marketing.add")
    return _builder(request, None)


@login_required
def segment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    segment = queries.segment_get_for_user(user=request.user, pk=pk, write=True)
    return _builder(request, segment)


@login_required
@require_POST
def segment_preview(request: HttpRequest) -> HttpResponse:
    """The builder's live count: how many parties the conditions as typed would hold."""
    _require(request, "marketing.view")
    fields = queries.fields_by_key()
    rows = rows_from_post(request.POST, fields)
    context = {"errors": [r for r in rows if r.error], "static": False, "count": None}
    if request.POST.get("kind") == SegmentKind.STATIC:
        context["static"] = True
    elif not context["errors"]:
        match = "any" if request.POST.get("match") == "any" else "all"
        conditions = [r.cleaned for r in rows]
        context["count"] = queries.parties_matching(conditions, match, fields=fields).count()
        context["visible"] = visible_records(
            queries.parties_matching(conditions, match, fields=fields), user=request.user
        ).count()
    return render(request, "marketing/segments/_preview.html", context)


def _chart(segment: Segment):
    points = queries.snapshots(segment)
    if len(points) < 2:
        return None
    return lines_svg(
        [date_format(p.day, "SHORT_DATE_FORMAT") for p in points],
        [{"label": _("Members"), "values": [p.count for p in points]}],
        title=_("Members of “%s” per day") % segment.name,
        label=_("Member count over time"),
    )


@login_required
def segment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    segment = queries.segment_get_for_user(user=request.user, pk=pk)
    members = segment_members_page(request, segment)
    can_change = request.user.has_perm("marketing.change_record", segment)
    context = {
        "segment": segment,
        "page": members,
        "described": queries.describe_segment(segment),
        "live_count": queries.count_members(segment),
        "chart": _chart(segment),
        "snapshots": queries.snapshots(segment)[-10:],
        "can_change": can_change,
        "members_form": MembersForm(user=request.user)
        if can_change and segment.kind == SegmentKind.STATIC
        else None,
        "surveys": segment.surveys.all()[:20],
    }
    return render(request, "marketing/segments/detail.html", context)


def segment_members_page(request: HttpRequest, segment: Segment):
    """A page of the members the user may see, as the party list shows them."""
    parties = party_list_rows(
        party_list_for_user(user=request.user, extra={"segment": str(segment.pk)})
    )
    page = IndexPaginator(parties, PAGE_SIZE).get_page(request.GET.get("page"))
    party_list_details(page.object_list)
    return page


@login_required
def segment_count(request: HttpRequest, pk: int) -> HttpResponse:
    """The live member count (the list loads it per row)."""
    segment = queries.segment_get_for_user(user=request.user, pk=pk)
    count = queries.count_members(segment)
    return HttpResponse(str(count), content_type="text/plain; charset=utf-8")


@login_required
def segment_export(request: HttpRequest, pk: int, fmt: str = "csv") -> StreamingHttpResponse:
    """The members the user may see, with the party export's columns (CSV, Excel, JSON)."""
    segment = queries.segment_get_for_user(user=request.user, pk=pk)
    query = QueryDict(mutable=True)
    query["segment"] = str(segment.pk)
    export = party_export(user=request.user, query=query)
    export.name = f"kreis-segment-{segment.pk}"
    return export_download(request, export, fmt)


@login_required
@require_POST
def segment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    segment = queries.segment_get_for_user(user=request.user, pk=pk, write=True)
    try:
        services.segment_delete(actor=request.user, segment=segment)
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
        return redirect("marketing:segments:detail", pk=segment.pk)
    messages.success(request, _("Segment “%s” deleted.") % segment.name)
    return redirect("marketing:segments:list")


@login_required
@require_POST
def segment_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    segment = queries.segment_get_for_user(user=request.user, pk=pk, write=True)
    count = services.refresh_count(segment)
    messages.success(
        request, ngettext("Counted: %(n)d member.", "Counted: %(n)d members.", count) % {"n": count}
    )
    return redirect("marketing:segments:detail", segment.pk)


@login_required
@require_POST
def segment_members_add(request: HttpRequest, pk: int) -> HttpResponse:
    segment = queries.segment_get_for_user(user=request.user, pk=pk, write=True)
    form = MembersForm(request.POST, user=request.user)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("marketing:segments:detail", segment.pk)
    ids = list(form.cleaned_data["ids"])
    view = form.cleaned_data.get("view")
    if view is not None:
        params = list_params(QueryDict(view.query or ""))
        visible = party_list_for_user(user=request.user, **params).order_by()
        ids += list(visible.values_list("pk", flat=True)[: services.MAX_MEMBERS_AT_ONCE])
    try:
        added = services.members_add(actor=request.user, segment=segment, party_ids=ids)
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
        return redirect("marketing:segments:detail", segment.pk)
    skipped = len(set(ids)) - added
    text = ngettext("%(n)d party added.", "%(n)d parties added.", added) % {"n": added}
    if skipped:
        text += " " + ngettext(
            "%(n)d skipped (already on the list, deleted or not visible to you).",
            "%(n)d skipped (already on the list, deleted or not visible to you).",
            skipped,
        ) % {"n": skipped}
    messages.success(request, text)
    return redirect("marketing:segments:detail", segment.pk)


@login_required
@require_POST
def segment_members_remove(request: HttpRequest, pk: int) -> HttpResponse:
    segment = queries.segment_get_for_user(user=request.user, pk=pk, write=True)
    ids = bulk_ids(request)
    try:
        removed = services.members_remove(actor=request.user, segment=segment, party_ids=ids)
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
        return redirect("marketing:segments:detail", segment.pk)
    messages.success(
        request,
        ngettext("%(n)d party removed.", "%(n)d parties removed.", removed) % {"n": removed},
    )
    return redirect("marketing:segments:detail", segment.pk)


@login_required
@require_POST
def segment_from_view(request: HttpRequest) -> HttpResponse:
    """“Make a segment” from one of the user's saved party views."""
    _require(request, "marketing.add")
    try:
        view_pk = int(request.POST.get("view") or 0)
    except ValueError:
        view_pk = 0
    view = saved_view_get_for_user(user=request.user, pk=view_pk)
    try:
        made = services.segment_from_saved_view(
            actor=request.user,
            view=view,
            name=request.POST.get("name", ""),
            snapshot=request.POST.get("snapshot") == "1",
        )
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
        return redirect("parties:list")
    if made.dynamic:
        messages.success(
            request,
            _(
                "Segment “%s” created as a dynamic segment: the view's filters are its "
                "conditions, so its members change with the data."
            )
            % made.segment.name,
        )
    else:
        messages.success(
            request,
            _(
                "Segment “%s” created as a static list of the parties the view shows now "
                "(some of its filters, such as the text search, have no condition)."
            )
            % made.segment.name,
        )
    return redirect("marketing:segments:detail", made.segment.pk)
