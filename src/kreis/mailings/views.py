"""Pages of mailings: the list, the form, a mailing's results (counts, progress while
sending, a chart, the recipients with the reason of every skip), the preview per language,
the test on a sample, start/pause/resume/cancel, and the suppression list."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kreis.mailings import queries, results, sending, services
from kreis.mailings.forms import MailingForm, SampleForm, SuppressionForm, SuppressionImportForm
from kreis.mailings.models import MailingState, RecipientState, SkipReason, SuppressionSource
from kreis.marketing.segments.queries import segment_parties

PAGE_SIZE = 50
MAX_IMPORT_BYTES = 2 * 1024 * 1024


def _form_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@login_required
def mailing_list(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("mailings.view"):
        raise PermissionDenied
    page = Paginator(queries.mailing_list_for_user(user=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "mailings/list.html",
        {"page": page, "can_add": request.user.has_perm("mailings.add")},
    )


def _fields(form) -> dict:
    data = dict(form.cleaned_data)
    return {name: data[name] for name in services.FIELDS if name in data}


@login_required
def mailing_create(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("mailings.add"):
        raise PermissionDenied
    form = MailingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            mailing = services.mailing_create(actor=request.user, **_fields(form))
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Mailing saved as a draft."))
            return redirect("mailings:detail", mailing.pk)
    return render(request, "mailings/form.html", {"form": form, "mailing": None})


@login_required
def mailing_edit(request: HttpRequest, pk: int) -> HttpResponse:
    mailing = queries.mailing_get_for_user(user=request.user, pk=pk, write=True)
    form = MailingForm(request.POST or None, instance=mailing)
    if request.method == "POST" and form.is_valid():
        fields = _fields(form)
        if mailing.state != MailingState.DRAFT:
            fields = {k: v for k, v in fields.items() if k in ("name", "rate")}
        try:
            services.mailing_update(actor=request.user, mailing=mailing, **fields)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Mailing saved."))
            return redirect("mailings:detail", mailing.pk)
    return render(request, "mailings/form.html", {"form": form, "mailing": mailing})


def _chart(counts: results.Counts) -> dict:
    """The bar chart of outcomes (analytics/charts.js draws ECharts options)."""
    labels = [
        _("Sent"),
        _("Delivered"),
        _("Bounced"),
        _("Replied"),
        _("Unsubscribed"),
        _("Skipped"),
        _("Failed"),
    ]
    values = [
        counts.sent,
        counts.delivered,
        counts.bounced,
        counts.replied,
        counts.unsubscribed,
        counts.skipped,
        counts.failed,
    ]
    return {
        "empty": counts.total == 0,
        "option": {
            "grid": {"left": 40, "right": 16, "top": 16, "bottom": 56},
            "tooltip": {"trigger": "axis"},
            "xAxis": {"type": "category", "data": labels, "axisLabel": {"rotate": 30}},
            "yAxis": {"type": "value", "minInterval": 1},
            "series": [{"type": "bar", "data": values, "name": _("Recipients")}],
        },
    }


@login_required
def mailing_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The mailing and its results. While it sends, HTMX asks for the progress part every
    two seconds (``?part=progress``)."""
    mailing = queries.mailing_get_for_user(user=request.user, pk=pk)
    if mailing.state != MailingState.DRAFT and request.GET.get("part") != "progress":
        results.refresh(mailing)
    counts = results.counts(mailing)
    context = {"mailing": mailing, "counts": counts}
    if request.headers.get("HX-Request") and request.GET.get("part") == "progress":
        return render(request, "mailings/_progress.html", context)
    state = request.GET.get("state", "")
    state = state if state in RecipientState.values else ""
    reason = request.GET.get("reason", "")
    reason = reason if reason in SkipReason.values else ""
    rows = Paginator(queries.recipients_of(mailing, state=state, reason=reason), PAGE_SIZE)
    context |= {
        "page": rows.get_page(request.GET.get("page")),
        "state": state,
        "reason": reason,
        "states": RecipientState.choices,
        "chart": _chart(counts),
        "can_change": request.user.has_perm("mailings.change_record", mailing),
        "sample_form": SampleForm(initial={"to": request.user.email}),
        "samples": mailing.samples.all()[:5],
        "rate": sending.rate_of(mailing),
    }
    if request.headers.get("HX-Request"):
        return render(request, "mailings/_recipients.html", context)
    return render(request, "mailings/detail.html", context)


@login_required
def mailing_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The mail in German and in English, as the first member of the segment would get it."""
    mailing = queries.mailing_get_for_user(user=request.user, pk=pk)
    party = (
        segment_parties(mailing.segment, user=request.user)
        .prefetch_related("contact_points")
        .order_by("pk")
        .first()
    )
    previews = [
        (code, name, sending.content_for(mailing, party=party, language=code))
        for code, name in (("de", _("German")), ("en", _("English")))
    ]
    return render(
        request, "mailings/preview.html", {"mailing": mailing, "previews": previews, "party": party}
    )


@login_required
@require_POST
def mailing_sample(request: HttpRequest, pk: int) -> HttpResponse:
    mailing = queries.mailing_get_for_user(user=request.user, pk=pk, write=True)
    form = SampleForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("mailings:detail", pk)
    try:
        sample = services.sample_send(
            actor=request.user,
            mailing=mailing,
            to=form.cleaned_data["to"],
            count=form.cleaned_data["count"],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except OSError as exc:
        messages.error(request, _("The mail server could not be reached: %s") % exc)
    else:
        messages.success(
            request,
            _("%(n)d test mails sent to %(to)s.") % {"n": sample.sent, "to": ", ".join(sample.to)},
        )
    return redirect("mailings:detail", pk)


def _action(request: HttpRequest, pk: int, run, done: str) -> HttpResponse:
    mailing = queries.mailing_get_for_user(user=request.user, pk=pk, write=True)
    try:
        run(mailing)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done)
    return redirect("mailings:detail", pk)


@login_required
@require_POST
def mailing_start(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(
        request,
        pk,
        lambda m: services.mailing_start(
            actor=request.user, mailing=m, base_url=request.build_absolute_uri("/")
        ),
        _("Sending has started."),
    )


@login_required
@require_POST
def mailing_pause(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(
        request,
        pk,
        lambda m: services.mailing_pause(actor=request.user, mailing=m),
        _("Paused."),
    )


@login_required
@require_POST
def mailing_resume(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(
        request,
        pk,
        lambda m: services.mailing_resume(actor=request.user, mailing=m),
        _("Sending resumed."),
    )


@login_required
@require_POST
def mailing_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(
        request,
        pk,
        lambda m: services.mailing_cancel(actor=request.user, mailing=m),
        _("Cancelled."),
    )


@login_required
@require_POST
def mailing_delete(request: HttpRequest, pk: int) -> HttpResponse:
    mailing = queries.mailing_get_for_user(user=request.user, pk=pk, write=True)
    try:
        services.mailing_delete(actor=request.user, mailing=mailing)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("mailings:detail", pk)
    messages.success(request, _("Mailing deleted."))
    return redirect("mailings:list")


# --- suppression list -------------------------------------------------------------------------


@login_required
def suppression_list(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("mailings.view"):
        raise PermissionDenied
    can_manage = request.user.has_perm("mailings.manage_suppressions")
    form = SuppressionForm(request.POST or None)
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.suppression_add(
                    actor=request.user, source=SuppressionSource.UI, **form.cleaned_data
                )
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, _("Added to the suppression list."))
                return redirect("mailings:suppressions")
    search = (request.GET.get("q") or "").strip()[:100]
    page = Paginator(
        queries.suppression_list_for_user(user=request.user, search=search), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "mailings/suppressions.html",
        {
            "page": page,
            "form": form,
            "import_form": SuppressionImportForm(),
            "can_manage": can_manage,
            "search": search,
        },
    )


@login_required
@require_POST
def suppression_import(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("mailings.manage_suppressions"):
        raise PermissionDenied
    form = SuppressionImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a file."))
        return redirect("mailings:suppressions")
    upload = form.cleaned_data["file"]
    if upload.size > MAX_IMPORT_BYTES:
        messages.error(request, _("The file is larger than 2 MB."))
        return redirect("mailings:suppressions")
    try:
        text = upload.read().decode("utf-8-sig")
        count = services.suppression_import(actor=request.user, text=text)
    except UnicodeDecodeError:
        messages.error(request, _("The file is not UTF-8 text."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("%d entries imported.") % count)
    return redirect("mailings:suppressions")


@login_required
@require_POST
def suppression_delete(request: HttpRequest, pk: int) -> HttpResponse:
    entry = queries.suppression_get_for_user(user=request.user, pk=pk)
    services.suppression_remove(actor=request.user, entry=entry)
    messages.success(request, _("Removed from the suppression list."))
    return redirect("mailings:suppressions")
