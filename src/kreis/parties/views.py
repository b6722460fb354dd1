"""Pages for organisations and persons: list, detail with relationships and history, forms."""

from __future__ import annotations

import re
from functools import lru_cache

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import get_script_prefix, reverse
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kreis.core.bulk import bulk_view
from kreis.core.customfields import (
    active_filters,
    custom_columns,
)
from kreis.core.exports import export_download
from kreis.core.queries import user_list_for_user
from kreis.core.web import (
    IndexPaginator,
    apply_errors,
    is_htmx,
    parse_id,
    query_without_page,
)
from kreis.parties import exports, queries, services
from kreis.parties.forms import EmploymentForm, MergeChooseForm, PartyForm, RelationshipForm
from kreis.parties.models import (
    AbcClass,
    ClvMarginBasis,
    ContactKind,
    Employment,
    LifecyclePhase,
    Party,
    PartyKind,
    PartyRole,
    Relationship,
    RelationshipType,
    RfmSegment,
)
from kreis.parties.normalize import format_phone

PAGE_SIZE = 25


def _list_params(request: HttpRequest) -> dict:
    return exports.list_params(request.GET)


@login_required
def party_list(request: HttpRequest) -> HttpResponse:
    params = _list_params(request)
    parties = queries.party_list_rows(queries.party_list_for_user(user=request.user, **params))
    page = IndexPaginator(parties, PAGE_SIZE).get_page(request.GET.get("page"))
    queries.party_list_details(page.object_list)
    selects = queries.list_filter_selects(params["extra"], user=request.user)
    context = {
        "page": page,
        "params": params,
        "list_filters": [
            described
            for described in queries.describe_list_filters(params["extra"], user=request.user)
            if described[0] not in {name for name, *_rest in selects}
        ],
        "select_filters": selects,
        "custom_filters": active_filters("party", request.GET),
        "custom_columns": custom_columns("party")[:3],
        "bulk_url": reverse("parties:bulk"),
        "bulk_tags": True,
        # The bulk bar shows each colleague's name only, not their teams.
        "bulk_owners": user_list_for_user(user=request.user)
        .prefetch_related(None)
        .only("id", "username", "first_name", "last_name"),
        "roles": PartyRole.choices,
        "query": query_without_page(request),
        "sorts": [
            ("name", _("Name A–Z")),
            ("-name", _("Name Z–A")),
            ("-created", _("Newest first")),
            ("-updated", _("Recently changed")),
            ("-clv", _("Highest CLV")),
            ("-clv_next_12", _("Highest CLV, next 12 months")),
            ("-revenue_12m", _("Highest revenue (12 months)")),
            ("-score", _("Highest score")),
            ("p_alive", _("Least likely active")),
            ("last_nps", _("Lowest last NPS answer")),
            ("last_csat", _("Lowest last CSAT")),
            ("last_loyalty", _("Lowest last loyalty index")),
        ],
        "abc_classes": AbcClass.choices,
        "rfm_segments": RfmSegment.choices,
        "phases": LifecyclePhase.choices,
        "clv_bases": ClvMarginBasis.choices,
    }
    template = "parties/_rows.html" if is_htmx(request) else "parties/list.html"
    return render(request, template, context)


@login_required
def party_export(request: HttpRequest, fmt: str = "csv") -> StreamingHttpResponse:
    """The list as it is filtered and sorted: CSV, Excel, JSON or vCard (persons)."""
    return export_download(request, exports.party_export(user=request.user, query=request.GET), fmt)


def _save_from_form(request, form, *, kind, party=None):
    data = form.service_data()
    address = data.pop("address")
    owner, team = data.pop("owner"), data.pop("team")
    if party is None:
        addresses = [address] if address else []
        return services.party_create(
            actor=request.user, kind=kind, owner=owner, team=team, addresses=addresses, **data
        )
    others = [
        {f: getattr(a, f) for f in ("kind", "street", "postal_code", "city", "region", "country")}
        for a in party.addresses.all()
        if not a.is_primary
    ]
    primary = [{**address, "is_primary": True}] if address else []
    socials = [
        {"value": c.value, "label": c.label, "is_primary": c.is_primary}
        for c in party.contact_points.all()
        if c.kind == ContactKind.SOCIAL
    ]
    return services.party_update(
        actor=request.user,
        party=party,
        owner=owner,
        team=team,
        addresses=primary + others,
        socials=socials,
        **data,
    )


@login_required
def party_create(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in PartyKind.values:
        raise Http404
    if request.user.is_read_only:
        raise PermissionDenied
    form = PartyForm(request.POST or None, kind=kind, initial={"owner": request.user})
    duplicates = None
    if request.method == "POST" and form.is_valid():
        duplicates = _duplicates_of(request, kind, form.cleaned_data)
        if duplicates and not request.POST.get("create_anyway"):
            # Show the likely duplicates first; saving needs a second, deliberate click.
            return render(
                request,
                "parties/form.html",
                {"form": form, "kind": kind, "party": None, "duplicates": duplicates},
            )
        try:
            party = _save_from_form(request, form, kind=kind)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("“%s” created.") % party)
            return redirect("parties:detail", pk=party.pk)
    return render(
        request,
        "parties/form.html",
        {"form": form, "kind": kind, "party": None, "duplicates": duplicates},
    )


def _duplicates_of(request: HttpRequest, kind: str, data, exclude_pk: int | None = None):
    lines = lambda key: [x.strip() for x in (data.get(key) or "").splitlines() if x.strip()]  # noqa: E731
    if kind == PartyKind.PERSON:
        name = " ".join(x for x in (data.get("first_name", ""), data.get("last_name", "")) if x)
    else:
        name = data.get("name", "")
    return queries.likely_duplicates(
        user=request.user,
        kind=kind,
        name=(name or "").strip()[:200],
        emails=lines("emails")[:20],
        phones=lines("phones")[:20],
        exclude_pk=exclude_pk,
    )


@login_required
def party_duplicates(request: HttpRequest) -> HttpResponse:
    """While a party is being entered: the likely duplicates, as a warning (HTMX)."""
    kind = request.GET.get("kind", "")
    if kind not in PartyKind.values:
        raise Http404
    exclude = request.GET.get("exclude", "")
    duplicates = _duplicates_of(request, kind, request.GET, exclude_pk=parse_id(exclude))
    return render(request, "parties/_duplicates.html", {"duplicates": duplicates})


@login_required
def party_edit(request: HttpRequest, pk: int) -> HttpResponse:
    party = queries.party_get_for_user(user=request.user, pk=pk, write=True)
    primary = next(iter(party.addresses.all()), None)
    contacts = party.contact_points.all()
    initial = {
        **{f: getattr(party, f) for f in PartyForm.base_fields if hasattr(party, f)},
        "roles": party.role_values(),
        "emails": "\n".join(c.value for c in contacts if c.kind == ContactKind.EMAIL),
        "phones": "\n".join(c.value for c in contacts if c.kind == ContactKind.PHONE),
        "tags": ", ".join(t.name for t in party.tags.all()),
        **(
            {
                "street": primary.street,
                "postal_code": primary.postal_code,
                "city": primary.city,
                "country": primary.country,
                "address_kind": primary.kind,
            }
            if primary
            else {}
        ),
    }
    form = PartyForm(request.POST or None, kind=party.kind, initial=initial, custom=party.custom)
    if request.method == "POST" and form.is_valid():
        try:
            _save_from_form(request, form, kind=party.kind, party=party)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("“%s” saved.") % party)
            return redirect("parties:detail", pk=party.pk)
    return render(request, "parties/form.html", {"form": form, "kind": party.kind, "party": party})


def _history(party, limit: int = 25) -> list[dict]:
    """Each change with who, when and old → new per field (django-simple-history)."""
    records = list(party.history.select_related("history_user")[: limit + 1])
    entries = []
    for newer, older in zip(records, [*records[1:], None], strict=False):
        changes = []
        if older is not None:
            delta = newer.diff_against(older, excluded_fields=["updated_at"])
            changes = [(c.field, c.old, c.new) for c in delta.changes]
        entries.append({"record": newer, "changes": changes})
    return entries[:limit]


class _ShownField:
    """A form field as a page shows it: its id, label and widget, rendered once."""

    def __init__(self, bound) -> None:
        self.auto_id = bound.auto_id
        self.label = str(bound.label)
        self.html = str(bound)

    def __str__(self) -> str:
        return self.html


@lru_cache(maxsize=32)
def _link_forms(language: str, script_prefix: str, is_person: bool) -> tuple[dict, dict]:
    """The party page's two empty forms, linking a person or organisation and adding a
    relationship. They are the same on every page of a kind of party, so their widgets are
    rendered once per language (rendering them took ~5 ms of every party page); a submitted
    form is checked by ``employment_add`` and ``relationship_add`` with the user's parties."""
    none = Party.objects.none()
    if is_person:
        employment = EmploymentForm(
            choices=none, other_label=_("Organisation"), kind=PartyKind.ORGANIZATION
        )
    else:
        employment = EmploymentForm(choices=none, other_label=_("Person"), kind=PartyKind.PERSON)
    relationship = RelationshipForm(choices=none)
    return (
        {name: _ShownField(employment[name]) for name in employment.fields},
        {name: _ShownField(relationship[name]) for name in relationship.fields},
    )


@login_required
def party_detail(request: HttpRequest, pk: int) -> HttpResponse:
    page = queries.party_page_for_user(user=request.user, pk=pk)
    party = page.party
    can_change = request.user.has_perm("core.change_record", party)
    contacts = page.contacts
    context = {
        "party": party,
        "can_change": can_change,
        "roles": page.roles,
        "tags": page.tags,
        "addresses": page.addresses,
        "employments": page.employments,
        "staff": page.staff,
        "emails": [c for c in contacts if c.kind == ContactKind.EMAIL],
        "phones": [(c, format_phone(c.value)) for c in contacts if c.kind == ContactKind.PHONE],
        "socials": [c for c in contacts if c.kind == ContactKind.SOCIAL],
        "relationships": queries.party_relationships(party=party, user=request.user),
        "history": _history(party),
        "merges": queries.party_merges(party=party),
    }
    if can_change:
        context["employment_form"], context["relationship_form"] = _link_forms(
            get_language(), get_script_prefix(), party.is_person
        )
    return render(request, "parties/detail.html", context)


@login_required
def party_graph(request: HttpRequest, pk: int) -> JsonResponse:
    """The relationship graph around a party (one step), for the chart on its page."""
    party = queries.party_get_for_user(user=request.user, pk=pk, related=False)
    labels = dict(RelationshipType.choices)
    nodes = {
        party.pk: {"id": str(party.pk), "name": party.name, "kind": party.kind, "center": True}
    }
    links = []
    for rel in queries.party_relationships(party=party, user=request.user):
        for end in (rel.source, rel.target):
            nodes.setdefault(
                end.pk,
                {
                    "id": str(end.pk),
                    "name": end.name,
                    "kind": end.kind,
                    "url": f"/parties/{end.pk}/",
                },
            )
        links.append(
            {
                "source": str(rel.source_id),
                "target": str(rel.target_id),
                "label": str(labels.get(rel.type, rel.type)),
            }
        )
    if party.is_person:
        employments = Employment.objects.filter(person_id=party.pk).select_related("organization")
    else:
        employments = Employment.objects.filter(organization_id=party.pk).select_related("person")
    for employment in employments:
        other = employment.organization if party.is_person else employment.person
        if not request.user.has_perm("core.view_record", other) or other.deleted_at:
            continue
        nodes.setdefault(
            other.pk,
            {
                "id": str(other.pk),
                "name": other.name,
                "kind": other.kind,
                "url": f"/parties/{other.pk}/",
            },
        )
        links.append(
            {
                "source": str(employment.person_id),
                "target": str(employment.organization_id),
                "label": employment.position or _("works for"),
            }
        )
    return JsonResponse({"nodes": list(nodes.values()), "links": links})


@login_required
def party_lookup(request: HttpRequest) -> HttpResponse:
    """Suggestions for a party field: ``<option>``s of visible parties matching the text."""
    text = next((request.GET[k] for k in ("other", "target", "q") if request.GET.get(k)), "")
    text = re.sub(r"\s*\(#\d+\)?\s*$", "", text).strip()[:100]
    kind = request.GET.get("kind", "") if request.GET.get("kind") in PartyKind.values else ""
    parties = []
    if len(text) >= 2:
        parties = queries.party_list_for_user(user=request.user, kind=kind, search=text)[:20]
    return render(request, "parties/_lookup_options.html", {"parties": parties})


@login_required
@require_POST
def party_delete(request: HttpRequest, pk: int) -> HttpResponse:
    party = queries.party_get_for_user(user=request.user, pk=pk, write=True)
    services.party_delete(actor=request.user, party=party)
    messages.success(request, _("“%s” deleted.") % party)
    return redirect("parties:list")


@login_required
@require_POST
def employment_add(request: HttpRequest, pk: int) -> HttpResponse:
    party = queries.party_get_for_user(user=request.user, pk=pk, write=True)
    visible = queries.party_list_for_user(user=request.user)
    wanted = PartyKind.ORGANIZATION if party.is_person else PartyKind.PERSON
    form = EmploymentForm(request.POST, choices=visible.filter(kind=wanted), other_label="")
    if not form.is_valid():
        messages.error(request, _("Choose whom to link."))
        return redirect("parties:detail", pk=party.pk)
    other = form.cleaned_data.pop("other")
    person, organization = (party, other) if party.is_person else (other, party)
    if not party.is_person and not request.user.has_perm("core.change_record", person):
        raise Http404
    services.employment_set(
        actor=request.user, person=person, organization=organization, **form.cleaned_data
    )
    messages.success(
        request, _("%(person)s linked to %(org)s.") % {"person": person, "org": organization}
    )
    return redirect("parties:detail", pk=party.pk)


@login_required
@require_POST
def employment_remove(request: HttpRequest, pk: int, employment_pk: int) -> HttpResponse:
    party = queries.party_get_for_user(user=request.user, pk=pk, write=True)
    employment = Employment.objects.filter(pk=employment_pk).select_related("person").first()
    if employment is None or party.pk not in (employment.person_id, employment.organization_id):
        raise Http404
    services.employment_remove(actor=request.user, employment=employment)
    return redirect("parties:detail", pk=party.pk)


@login_required
@require_POST
def relationship_add(request: HttpRequest, pk: int) -> HttpResponse:
    party = queries.party_get_for_user(user=request.user, pk=pk, write=True)
    form = RelationshipForm(request.POST, choices=queries.party_list_for_user(user=request.user))
    if form.is_valid():
        try:
            services.relationship_add(actor=request.user, source=party, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Relationship added."))
    else:
        messages.error(request, _("Choose a relationship and a party."))
    return redirect("parties:detail", pk=party.pk)


@login_required
@require_POST
def relationship_remove(request: HttpRequest, pk: int, relationship_pk: int) -> HttpResponse:
    party = queries.party_get_for_user(user=request.user, pk=pk, write=True)
    relationship = Relationship.objects.filter(pk=relationship_pk, source=party).first()
    if relationship is None:
        raise Http404
    services.relationship_remove(actor=request.user, relationship=relationship)
    return redirect("parties:detail", pk=party.pk)


party_bulk = bulk_view(
    actions=services.PARTY_BULK, records=queries.parties_for_bulk, list_url="parties:list"
)


@login_required
def party_merge(request: HttpRequest, pk: int) -> HttpResponse:
    """Merge another party into this one, choosing field by field which value stays."""
    party = queries.party_get_for_user(user=request.user, pk=pk, write=True)
    writable = queries.party_list_for_user(user=request.user, kind=party.kind).exclude(pk=pk)
    if request.user.is_read_only:
        raise PermissionDenied
    choose = MergeChooseForm(request.GET or None, choices=writable, kind=party.kind)
    other = None
    if "other" in request.GET and choose.is_valid():
        other = choose.cleaned_data["other"]
        if not request.user.has_perm("core.change_record", other):
            raise Http404
    if request.method == "POST":
        other = queries.party_get_for_user(
            user=request.user, pk=int(request.POST.get("other_id", "0") or 0), write=True
        )
        take = [f for f in services.MERGE_FIELDS if request.POST.get(f"field_{f}") == "other"]
        try:
            merge = services.party_merge(
                actor=request.user, survivor=party, merged=other, take_from_merged=take
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _("“%(merged)s” was merged into “%(survivor)s”. You can undo this below.")
                % {"merged": other.name, "survivor": party.name},
            )
            return redirect(f"{reverse('parties:detail', args=[party.pk])}#merge-{merge.pk}")
    rows = []
    if other is not None:
        for field in services.MERGE_FIELDS:
            mine, theirs = getattr(party, field), getattr(other, field)
            if field == "custom" or (mine or "") == (theirs or ""):
                continue
            label = _merge_field_label(field)
            rows.append(
                {
                    "field": field,
                    "label": label,
                    "mine": _shown(party, field),
                    "theirs": _shown(other, field),
                    "take_theirs": not mine and bool(theirs),
                }
            )
    return render(
        request,
        "parties/merge.html",
        {"party": party, "other": other, "choose": choose, "rows": rows},
    )


def _merge_field_label(field: str):
    return Party._meta.get_field(field.removesuffix("_id")).verbose_name


def _shown(party, field: str) -> str:
    if field == "owner_id":
        return str(party.owner or "—")
    if field == "team_id":
        return str(party.team or "—")
    if field == "size":
        return party.get_size_display() or "—"
    return str(getattr(party, field) or "—")


@login_required
@require_POST
def party_merge_undo(request: HttpRequest, pk: int) -> HttpResponse:
    merge = queries.party_merge_get_for_user(user=request.user, pk=pk)
    try:
        undone = services.party_merge_undo(actor=request.user, merge=merge)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("parties:detail", pk=merge.survivor_id)
    messages.success(request, _("The merge was undone: “%s” is back.") % undone.party.name)
    if undone.kept_fields:
        labels = ", ".join(str(_merge_field_label(f)) for f in undone.kept_fields)
        messages.info(
            request,
            _("Changed since the merge and therefore kept on “%(name)s”: %(fields)s.")
            % {"name": merge.survivor.name, "fields": labels},
        )
    if undone.kept_rows:
        messages.info(
            request,
            ngettext(
                "%(count)d record was moved or deleted since the merge and stays as it is.",
                "%(count)d records were moved or deleted since the merge and stay as they are.",
                undone.kept_rows,
            )
            % {"count": undone.kept_rows},
        )
    return redirect("parties:detail", pk=undone.party.pk)
