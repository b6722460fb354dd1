"""Relationship type pages: the list with each type's customers and the last application,
the form, and "Apply now" with its progress."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from kreis.core.web import apply_errors
from kreis.marketing.relationships import queries, services, tasks
from kreis.marketing.relationships.forms import RelationshipTypeForm
from kreis.marketing.relationships.models import RelationshipType


def _progress_context() -> dict:
    entry = tasks.progress_get()
    percent = None
    if entry and entry.get("total"):
        percent = round(100 * entry["done"] / entry["total"])
    return {"progress": entry, "percent": percent}


@login_required
def type_list(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("marketing.view_relationship_types"):
        raise PermissionDenied
    context = {
        "types": list(queries.type_list_for_user(user=request.user)),
        "runs": list(queries.run_list_for_user(user=request.user)[:10]),
        "can_change": request.user.has_perm("marketing.change_relationship_types"),
        **_progress_context(),
    }
    return render(request, "marketing/relationships/list.html", context)


@login_required
def apply_progress(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("marketing.view_relationship_types"):
        raise PermissionDenied
    return render(request, "marketing/relationships/_progress.html", _progress_context())


def _form(request: HttpRequest, rtype: RelationshipType) -> HttpResponse:
    creating = rtype.pk is None
    form = RelationshipTypeForm(request.POST or None, instance=rtype)
    if request.method == "POST" and form.is_valid():
        try:
            services.relationship_type_save(
                actor=request.user, relationship_type=rtype, values=form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request, _("Relationship type “%(name)s” saved.") % {"name": rtype.name}
            )
            return redirect("marketing:relationships:list")
    parties = []
    if not creating:
        parties = list(queries.type_parties_for_user(user=request.user, rtype=rtype)[:50])
    return render(
        request,
        "marketing/relationships/form.html",
        {"form": form, "rtype": rtype, "creating": creating, "parties": parties},
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
def type_create(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("marketing.change_relationship_types"):
        raise PermissionDenied
    return _form(request, RelationshipType())


@login_required
def type_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rtype = queries.type_get_for_user(user=request.user, pk=pk, write=request.method == "POST")
    return _form(request, rtype)


@login_required
@require_POST
def type_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rtype = queries.type_get_for_user(user=request.user, pk=pk, write=True)
    name = rtype.name
    services.relationship_type_delete(actor=request.user, relationship_type=rtype)
    messages.success(request, _("Relationship type “%(name)s” deleted.") % {"name": name})
    return redirect("marketing:relationships:list")


@login_required
@require_POST
def type_apply(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("marketing.change_relationship_types"):
        raise PermissionDenied
    try:
        tasks.apply_enqueue(actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("The relationship types are being applied; the owners change in the background."),
        )
    return redirect("marketing:relationships:list")


@login_required
@require_POST
def run_undo(request: HttpRequest, pk: int) -> HttpResponse:
    """Undo one application: the customers' previous types, owners and teams come back."""
    run = queries.run_get_for_user(user=request.user, pk=pk, write=True)
    try:
        result = services.relationship_apply_undo(actor=request.user, run=run)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("marketing:relationships:list")
    text = ngettext(
        "%(restored)s customer restored.", "%(restored)s customers restored.", result.restored
    ) % {"restored": result.restored}
    changed_since = result.skipped - result.skipped_type_deleted
    if changed_since:
        text += " " + ngettext(
            "%(skipped)s customer changed since was left as it is.",
            "%(skipped)s customers changed since were left as they are.",
            changed_since,
        ) % {"skipped": changed_since}
    if result.skipped_type_deleted:
        text += " " + ngettext(
            "%(skipped)s customer was left as it is because its previous relationship type "
            "has been deleted.",
            "%(skipped)s customers were left as they are because their previous relationship "
            "type has been deleted.",
            result.skipped_type_deleted,
        ) % {"skipped": result.skipped_type_deleted}
    messages.success(request, text)
    return redirect("marketing:relationships:list")
