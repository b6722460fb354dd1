"""Pipeline configuration for administrators: pipelines, their stages, lost reasons."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kreis.core.web import apply_errors
from kreis.sales import queries, services
from kreis.sales.forms import LostReasonForm, PipelineForm, StageForm


def _admin_only(request: HttpRequest) -> None:
    if not request.user.is_admin:
        raise Http404


@login_required
def pipeline_list(request: HttpRequest) -> HttpResponse:
    _admin_only(request)
    context = {
        "pipelines": queries.pipeline_list(),
        "reasons": queries.lost_reason_list(),
        "reason_form": LostReasonForm(),
    }
    return render(request, "sales/pipelines.html", context)


@login_required
def pipeline_create(request: HttpRequest) -> HttpResponse:
    _admin_only(request)
    form = PipelineForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            pipeline = services.pipeline_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Pipeline “%s” created.") % pipeline)
            return redirect("sales:pipeline_edit", pk=pipeline.pk)
    return render(request, "sales/pipeline_form.html", {"form": form, "pipeline": None})


@login_required
def pipeline_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The pipeline's fields, and its stages (each with its own small form)."""
    _admin_only(request)
    pipeline = queries.pipeline_get(pk=pk, user=request.user, write=True)
    initial = {
        f: getattr(pipeline, f)
        for f in ("name", "description", "position", "is_default", "is_active")
    }
    form = PipelineForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.pipeline_update(actor=request.user, pipeline=pipeline, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Pipeline “%s” saved.") % pipeline)
            return redirect("sales:pipeline_edit", pk=pipeline.pk)
    stage_forms = [
        (
            stage,
            StageForm(
                initial={
                    "name": stage.name,
                    "probability": stage.probability,
                    "kind": stage.kind,
                    "position": stage.position,
                },
                prefix=f"stage-{stage.pk}",
            ),
        )
        for stage in pipeline.stages.all()
    ]
    context = {
        "form": form,
        "pipeline": pipeline,
        "stage_forms": stage_forms,
        "new_stage_form": StageForm(prefix="new"),
    }
    return render(request, "sales/pipeline_form.html", context)


@login_required
@require_POST
def pipeline_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _admin_only(request)
    pipeline = queries.pipeline_get(pk=pk, user=request.user, write=True)
    try:
        services.pipeline_delete(actor=request.user, pipeline=pipeline)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("sales:pipeline_edit", pk=pipeline.pk)
    messages.success(request, _("Pipeline “%s” deleted.") % pipeline)
    return redirect("sales:pipelines")


@login_required
@require_POST
def stage_add(request: HttpRequest, pk: int) -> HttpResponse:
    _admin_only(request)
    pipeline = queries.pipeline_get(pk=pk, user=request.user, write=True)
    form = StageForm(request.POST, prefix="new")
    if form.is_valid():
        try:
            services.stage_create(actor=request.user, pipeline=pipeline, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Stage added."))
    else:
        messages.error(request, _("Give the stage a name and a probability from 0 to 100."))
    return redirect("sales:pipeline_edit", pk=pipeline.pk)


@login_required
@require_POST
def stage_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _admin_only(request)
    stage = queries.stage_get(pk=pk, user=request.user, write=True)
    form = StageForm(request.POST, prefix=f"stage-{stage.pk}")
    if form.is_valid():
        data = dict(form.cleaned_data)
        if data["position"] is None:
            data.pop("position")
        try:
            services.stage_update(actor=request.user, stage=stage, **data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Stage “%s” saved.") % stage.name)
    else:
        messages.error(request, _("Give the stage a name and a probability from 0 to 100."))
    return redirect("sales:pipeline_edit", pk=stage.pipeline_id)


@login_required
@require_POST
def stage_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _admin_only(request)
    stage = queries.stage_get(pk=pk, user=request.user, write=True)
    try:
        services.stage_delete(actor=request.user, stage=stage)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Stage “%s” deleted.") % stage.name)
    return redirect("sales:pipeline_edit", pk=stage.pipeline_id)


@login_required
@require_POST
def lost_reason_add(request: HttpRequest) -> HttpResponse:
    _admin_only(request)
    form = LostReasonForm(request.POST)
    if form.is_valid():
        try:
            services.lost_reason_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Lost reason added."))
    return redirect("sales:pipelines")


@login_required
@require_POST
def lost_reason_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _admin_only(request)
    reason = queries.lost_reason_get(pk=pk, user=request.user, write=True)
    if request.POST.get("delete"):
        try:
            services.lost_reason_delete(actor=request.user, reason=reason)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Lost reason “%s” deleted.") % reason)
        return redirect("sales:pipelines")
    form = LostReasonForm(request.POST, prefix=f"reason-{reason.pk}")
    if form.is_valid():
        try:
            services.lost_reason_update(actor=request.user, reason=reason, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Lost reason “%s” saved.") % reason)
    return redirect("sales:pipelines")
