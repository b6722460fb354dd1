"""Connector pages (administrators only): the list, the form, "Run now", the last runs."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kreis.core.web import apply_errors
from kreis.migration.connectors import queries, services
from kreis.migration.connectors.forms import ConnectorForm
from kreis.migration.connectors.tasks import analytics_start, connector_enqueue


def _schedule_context() -> dict:
    return {"analytics_start": analytics_start()}


@login_required
def connector_list(request: HttpRequest) -> HttpResponse:
    connectors = queries.connector_list_for_user(user=request.user)
    rows = [(c, services.location_label(c), services.last_result(c)) for c in connectors]
    return render(request, "migration/connector_list.html", {"rows": rows, **_schedule_context()})


@login_required
def connector_create(request: HttpRequest) -> HttpResponse:
    queries.connector_list_for_user(user=request.user)  # administrators only
    form = ConnectorForm(request.POST or None, initial={"run_as": request.user.pk})
    if request.method == "POST" and form.is_valid():
        try:
            connector = services.connector_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Connector “%s” created.") % connector)
            return redirect("migration:connector_detail", pk=connector.pk)
    context = {"form": form, "connector": None, **_schedule_context()}
    return render(request, "migration/connector_form.html", context)


@login_required
def connector_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The connector's form and its last runs with links to their imports."""
    connector = queries.connector_get_for_user(user=request.user, pk=pk)
    form = ConnectorForm(request.POST or None, connector=connector)
    if request.method == "POST" and form.is_valid():
        try:
            services.connector_update(actor=request.user, connector=connector, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Connector “%s” saved.") % connector)
            return redirect("migration:connector_detail", pk=connector.pk)
    context = {
        "form": form,
        "connector": connector,
        "location": services.location_label(connector),
        "runs": [
            {**run, "text": services.describe(run)} for run in queries.connector_runs(connector)
        ],
        **_schedule_context(),
    }
    start = context["analytics_start"]  # the connector's hour is local time, as this is
    context["after_analytics"] = (
        start is not None and connector.schedule_hour * 60 >= start.hour * 60 + start.minute
    )
    return render(request, "migration/connector_form.html", context)


@login_required
@require_POST
def connector_run(request: HttpRequest, pk: int) -> HttpResponse:
    connector = queries.connector_get_for_user(user=request.user, pk=pk)
    try:
        connector_enqueue(actor=request.user, connector=connector)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("Connector “%s” started; its result appears under “Last runs”.") % connector
        )
    return redirect("migration:connector_detail", pk=connector.pk)


@login_required
@require_POST
def connector_delete(request: HttpRequest, pk: int) -> HttpResponse:
    connector = queries.connector_get_for_user(user=request.user, pk=pk)
    services.connector_delete(actor=request.user, connector=connector)
    messages.success(request, _("Connector “%s” deleted; its imports remain.") % connector.name)
    return redirect("migration:connector_list")
