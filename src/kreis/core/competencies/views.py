"""The skills matrix (users × competencies, by team), a user's levels, and the catalogue."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kreis.core.competencies import queries, services
from kreis.core.competencies.forms import CompetencyForm, LevelsForm
from kreis.core.competencies.models import Competency, CompetencyKind
from kreis.core.models import Team
from kreis.core.web import apply_errors, parse_id


@login_required
def matrix(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("core.view_competencies"):
        raise PermissionDenied
    team = None
    team_id = parse_id(request.GET.get("team"))
    if team_id:
        team = Team.objects.filter(pk=team_id).first()
    kind = request.GET.get("kind", "")
    if kind not in CompetencyKind.values:
        kind = ""
    data = queries.skills_matrix(viewer=request.user, team=team, kind=kind)
    context = {
        "matrix": data,
        "kinds": CompetencyKind.choices,
        "can_manage": request.user.has_perm("core.manage_competencies"),
    }
    return render(request, "core/competencies/matrix.html", context)


@login_required
def user_levels(request: HttpRequest, pk: int) -> HttpResponse:
    write = request.method == "POST"
    user = queries.user_get_for_competencies(viewer=request.user, pk=pk, write=write)
    columns = list(queries.competencies())
    form = LevelsForm(
        request.POST or None, competencies=columns, levels=queries.user_levels(user=user)
    )
    if write and form.is_valid():
        try:
            services.user_competencies_set(actor=request.user, user=user, levels=form.levels())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("Competencies of %(name)s saved.") % {"name": user.get_full_name() or user},
            )
            return redirect("core:competency_matrix")
    can_edit = request.user.has_perm("core.change_user_competencies", user)
    return render(
        request,
        "core/competencies/user.html",
        {"form": form, "person": user, "can_edit": can_edit},
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
def catalogue(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("core.view_competencies"):
        raise PermissionDenied
    context = {
        "competencies": list(queries.competencies(active_only=False)),
        "can_manage": request.user.has_perm("core.manage_competencies"),
    }
    return render(request, "core/competencies/catalogue.html", context)


def _competency_form(request: HttpRequest, competency: Competency) -> HttpResponse:
    if not request.user.has_perm("core.manage_competencies"):
        raise PermissionDenied
    form = CompetencyForm(request.POST or None, instance=competency)
    creating = competency.pk is None
    if request.method == "POST" and form.is_valid():
        try:
            services.competency_save(
                actor=request.user, competency=competency, values=form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Competency “%(name)s” saved.") % {"name": competency})
            return redirect("core:competency_catalogue")
    return render(
        request,
        "core/competencies/competency_form.html",
        {"form": form, "competency": competency, "creating": creating},
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
def competency_create(request: HttpRequest) -> HttpResponse:
    return _competency_form(request, Competency())


@login_required
def competency_edit(request: HttpRequest, pk: int) -> HttpResponse:
    competency = Competency.objects.filter(pk=pk).first()
    if competency is None or not request.user.has_perm("core.view_competencies"):
        raise Http404
    return _competency_form(request, competency)


@login_required
@require_POST
def competency_delete(request: HttpRequest, pk: int) -> HttpResponse:
    competency = Competency.objects.filter(pk=pk).first()
    if competency is None or not request.user.has_perm("core.view_competencies"):
        raise Http404
    services.competency_delete(actor=request.user, competency=competency)
    messages.success(request, _("Competency “%(name)s” deleted.") % {"name": competency})
    return redirect("core:competency_catalogue")
