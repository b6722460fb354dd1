"""Administration in the app: users, teams and roles (not only in the Django admin)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kreis.core import queries, services
from kreis.core.forms import CustomFieldForm, MemberForm, TeamForm, UserForm
from kreis.core.models import ROLE_DESCRIPTIONS, Role, User
from kreis.core.web import apply_errors, is_htmx, query_without_page, safe_next


def _admin_only(request: HttpRequest) -> None:
    if not request.user.has_perm("core.manage_users"):
        raise Http404


@login_required
def user_list(request: HttpRequest) -> HttpResponse:
    _admin_only(request)
    q = request.GET.get("q", "").strip()[:100]
    role = request.GET.get("role", "")
    users = queries.user_list_for_user(user=request.user, search=q, include_inactive=True)
    if role in Role.values:
        users = users.filter(role=role)
    page = Paginator(users, 25).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "q": q,
        "role": role,
        "roles": Role.choices,
        "query": query_without_page(request),
    }
    template = "core/manage/_user_rows.html" if is_htmx(request) else "core/manage/users.html"
    return render(request, template, context)


def _user_fields(form: UserForm) -> dict:
    data = dict(form.cleaned_data)
    data["team_ids"] = [team.pk for team in data.pop("teams")]
    data.pop("username", None)
    return data


@login_required
def user_create(request: HttpRequest) -> HttpResponse:
    _admin_only(request)
    form = UserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create(
                actor=request.user, username=form.cleaned_data["username"], **_user_fields(form)
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("User “%s” created.") % user)
            return redirect("core:user_list")
    return render(request, "core/manage/user_form.html", {"form": form, "editing": None})


@login_required
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = queries.user_get_for_user(user=request.user, pk=pk, write=True)
    initial = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "job_title": user.job_title,
        "phone": user.phone,
        "role": user.role,
        "language": user.language,
        "is_active": user.is_active,
        "teams": list(user.teams.all()),
    }
    form = UserForm(request.POST or None, initial=initial, editing=user)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_update(actor=request.user, user=user, **_user_fields(form))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("User “%s” saved.") % user)
            return redirect("core:user_list")
    return render(request, "core/manage/user_form.html", {"form": form, "editing": user})


@login_required
def team_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:100]
    teams = queries.team_list_for_user(user=request.user, search=q)
    page = Paginator(teams, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "core/manage/teams.html",
        {"page": page, "q": q, "query": query_without_page(request)},
    )


@login_required
def team_create(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("core.add_team"):
        raise Http404
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.team_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Team “%s” created.") % team)
            return redirect("core:team_detail", pk=team.pk)
    return render(request, "core/manage/team_form.html", {"form": form, "team": None})


@login_required
def team_detail(request: HttpRequest, pk: int) -> HttpResponse:
    team = queries.team_get_for_user(user=request.user, pk=pk)
    can_change = request.user.has_perm("core.change_team", team)
    form = TeamForm(
        request.POST or None, initial={"name": team.name, "description": team.description}
    )
    member_form = MemberForm()
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.team_update(actor=request.user, team=team, **form.cleaned_data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Team “%s” saved.") % team)
                return redirect("core:team_detail", pk=team.pk)
    context = {
        "team": team,
        "form": form,
        "member_form": member_form,
        "members": queries.team_memberships(team=team),
        "can_change": can_change,
        "can_delete": request.user.has_perm("core.delete_team", team),
    }
    return render(request, "core/manage/team_detail.html", context)


@login_required
@require_POST
def team_member_add(request: HttpRequest, pk: int) -> HttpResponse:
    team = queries.team_get_for_user(user=request.user, pk=pk, write=True)
    form = MemberForm(request.POST)
    if form.is_valid():
        try:
            services.team_set_member(actor=request.user, team=team, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("%s is now a member.") % form.cleaned_data["user"])
    else:
        messages.error(request, _("Choose a user to add."))
    return redirect("core:team_detail", pk=team.pk)


@login_required
@require_POST
def team_member_remove(request: HttpRequest, pk: int, user_pk: int) -> HttpResponse:
    team = queries.team_get_for_user(user=request.user, pk=pk, write=True)
    member = queries.user_get_for_user(user=request.user, pk=user_pk)
    try:
        services.team_remove_member(actor=request.user, team=team, user=member)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("%s has left the team.") % member)
    return redirect("core:team_detail", pk=team.pk)


@login_required
@require_POST
def team_delete(request: HttpRequest, pk: int) -> HttpResponse:
    team = queries.team_get_for_user(user=request.user, pk=pk, write=True)
    if not request.user.has_perm("core.delete_team", team):
        raise Http404
    services.team_delete(actor=request.user, team=team)
    messages.success(request, _("Team “%s” deleted.") % team.name)
    return redirect("core:team_list")


@login_required
def role_list(request: HttpRequest) -> HttpResponse:
    """The roles, what each may do, and how many users hold it."""
    _admin_only(request)
    counts = dict(User.objects.filter(is_active=True).values_list("role").annotate(n=Count("pk")))
    roles = [
        {
            "value": role.value,
            "label": role.label,
            "description": ROLE_DESCRIPTIONS[role],
            "count": counts.get(role.value, 0),
        }
        for role in Role
    ]
    return render(request, "core/manage/roles.html", {"roles": roles})


@login_required
def custom_field_list(request: HttpRequest) -> HttpResponse:
    _admin_only(request)
    from kreis.core.customfields import ENTITIES

    entity = request.GET.get("entity", "")
    fields = queries.custom_field_list(entity=entity if entity in ENTITIES else "")
    return render(
        request,
        "core/manage/custom_fields.html",
        {"fields": fields, "entities": list(ENTITIES.items()), "entity": entity},
    )


@login_required
def custom_field_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _admin_only(request)
    field = None if pk is None else queries.custom_field_get_for_user(user=request.user, pk=pk)
    initial = None
    if field is not None:
        initial = {
            "entity": field.entity,
            "label": field.label,
            "key": field.key,
            "type": field.type,
            "choices": "\n".join(field.choices),
            "required": field.required,
            "help_text": field.help_text,
            "position": field.position,
            "is_active": field.is_active,
        }
    form = CustomFieldForm(request.POST or None, initial=initial, editing=field)
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        try:
            if field is None:
                services.custom_field_create(actor=request.user, **data)
                messages.success(request, _("Custom field added."))
            else:
                for fixed in ("entity", "key", "type"):
                    data.pop(fixed)
                services.custom_field_update(actor=request.user, field=field, **data)
                messages.success(request, _("Custom field saved."))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return redirect("core:custom_field_list")
    return render(request, "core/manage/custom_field_form.html", {"form": form, "field": field})


@login_required
def saved_view_create(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        raise Http404
    target = safe_next(request)
    try:
        view = services.saved_view_save(
            user=request.user,
            list_name=request.POST.get("list_name", ""),
            name=request.POST.get("name", ""),
            query=request.POST.get("query", ""),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(target)
    messages.success(request, _("View “%s” saved.") % view.name)
    return redirect(f"{target.split('?')[0]}?{view.query}")


@login_required
@require_POST
def saved_view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    view = queries.saved_view_get_for_user(user=request.user, pk=pk)
    services.saved_view_delete(user=request.user, view=view)
    messages.success(request, _("View “%s” deleted.") % view.name)
    return redirect(safe_next(request))
