"""Staff pages of web forms: the list, the builder (new and edit), a form with its
submissions and the snippets to embed it, deleting a form, the submissions as CSV."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kreis.core.web import apply_errors, csv_response
from kreis.marketing.models import ConsentPurpose, FormSubmission, LeadForm, SubmissionOutcome
from kreis.marketing.webforms import queries, services, tasks
from kreis.marketing.webforms.forms import (
    LeadFormForm,
    apply_row_action,
    labelled_rows,
    rows_from_post,
)

CHANGE = "marketing.change_record"


@login_required
def form_list(request: HttpRequest) -> HttpResponse:
    forms = queries.form_list_for_user(user=request.user)
    return render(
        request,
        "marketing/webforms/list.html",
        {"forms": forms, "can_add": request.user.has_perm("marketing.add")},
    )


def _preview(lead_form: LeadForm, rows: list[dict]) -> dict:
    """What the public form would show with these (unsaved) settings and rows."""
    shown = LeadForm(
        language=lead_form.language or "de",
        fields=[r for r in rows if r["key"] in dict(services.field_choices())],
        consent_purposes=list(lead_form.consent_purposes or []),
    )
    return {
        "fields": services.public_fields(shown),
        "consents": services.consent_texts(shown),
    }


def _builder(request: HttpRequest, lead_form: LeadForm | None) -> HttpResponse:
    instance = lead_form or LeadForm(fields=services.default_fields())
    form = LeadFormForm(request.POST or None, instance=instance if lead_form else None)
    if lead_form is None and request.method != "POST":
        form = LeadFormForm(initial={"language": "de", "lead_source": "web form"})
    rows = rows_from_post(request.POST) if request.method == "POST" else list(instance.fields)
    row_errors: list[str] = []
    action = request.POST.get("action", "save")
    if request.method == "POST" and action == "save" and form.is_valid():
        data = dict(form.cleaned_data)
        data["fields"] = rows
        try:
            if lead_form is None:
                saved = services.form_create(actor=request.user, **data)
            else:
                saved = services.form_update(actor=request.user, form=lead_form, **data)
        except ValidationError as exc:
            row_errors = exc.message_dict.pop("fields", []) if hasattr(exc, "error_dict") else []
            if hasattr(exc, "error_dict"):
                exc.error_dict.pop("fields", None)
                if exc.error_dict:
                    apply_errors(form, exc)
            else:
                apply_errors(form, exc)
        else:
            return redirect("marketing:webforms:detail", saved.pk)
    elif request.method == "POST" and action != "save":
        rows = apply_row_action(rows, action, request.POST.get("new_field", ""))
    preview_source = LeadForm(
        language=(form["language"].value() or "de"),
        consent_purposes=[
            p for p in (form["consent_purposes"].value() or []) if p in ConsentPurpose.values
        ],
    )
    context = {
        "form": form,
        "lead_form": lead_form,
        "rows": labelled_rows(rows),
        "row_errors": row_errors,
        "field_choices": services.field_choices(),
        "preview": _preview(preview_source, rows),
        "preview_title": form["title"].value() or "",
        "preview_intro": form["intro"].value() or "",
        "preview_button": form["submit_label"].value() or "",
    }
    status = 422 if request.method == "POST" and action == "save" else 200
    return render(request, "marketing/webforms/edit.html", context, status=status)


@login_required
def form_create(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("marketing.add"):
        raise PermissionDenied
    return _builder(request, None)


@login_required
def form_edit(request: HttpRequest, pk: int) -> HttpResponse:
    lead_form = queries.form_get_for_user(user=request.user, pk=pk, perm=CHANGE)
    return _builder(request, lead_form)


def snippets(request: HttpRequest, lead_form: LeadForm) -> dict[str, str]:
    """The addresses of the form and the HTML to embed it on a website."""
    page = request.build_absolute_uri(reverse("webform_public:form", args=[lead_form.key]))
    embed = request.build_absolute_uri(reverse("webform_public:embed", args=[lead_form.key]))
    script = request.build_absolute_uri(reverse("webform_public:embed_js", args=[lead_form.key]))
    endpoint = request.build_absolute_uri(reverse("webform_public:submit", args=[lead_form.key]))
    title = escape(lead_form.title or lead_form.name)
    return {
        "page": page,
        "embed": embed,
        "endpoint": endpoint,
        "iframe": (
            f'<iframe src="{embed}" title="{title}" width="100%" height="900"'
            ' style="border:0"></iframe>'
        ),
        "script": f'<script src="{script}" async></script>',
    }


@login_required
def form_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead_form = queries.form_get_for_user(user=request.user, pk=pk)
    page = Paginator(queries.submissions(lead_form), 25).get_page(request.GET.get("page"))
    context = {
        "lead_form": lead_form,
        "page": page,
        "submissions": page.object_list,
        "snippets": snippets(request, lead_form),
        "consents": services.consent_texts(lead_form),
        "field_names": dict(services.field_choices()),
        "can_change": request.user.has_perm(CHANGE, lead_form),
        "origins": lead_form.origins(),
        "failed": queries.submissions(lead_form).filter(outcome=SubmissionOutcome.FAILED).count(),
    }
    return render(request, "marketing/webforms/detail.html", context)


@login_required
@require_POST
def form_delete(request: HttpRequest, pk: int) -> HttpResponse:
    lead_form = queries.form_get_for_user(user=request.user, pk=pk, perm=CHANGE)
    services.form_delete(actor=request.user, form=lead_form)
    return redirect("marketing:webforms:list")


@login_required
@require_POST
def submission_retry(request: HttpRequest, pk: int, submission_pk: int) -> HttpResponse:
    """A submission whose processing failed, processed again (its job is enqueued)."""
    lead_form = queries.form_get_for_user(user=request.user, pk=pk, perm=CHANGE)
    submission = get_object_or_404(FormSubmission, form=lead_form, pk=submission_pk)
    try:
        tasks.retry(actor=request.user, submission=submission)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The submission is being processed again."))
    return redirect("marketing:webforms:detail", pk=lead_form.pk)


@login_required
def submissions_export(request: HttpRequest, pk: int) -> HttpResponse:
    lead_form = queries.form_get_for_user(user=request.user, pk=pk)
    return csv_response(
        f"form-{lead_form.key}-submissions.csv",
        queries.EXPORT_HEADER,
        queries.export_rows(lead_form),
    )
