"""The complaint analysis page (evaluation, controlling, archive, subscriptions) and the report
of a period as HTML or PDF. Managers and service agents open it; the figures cover the cases
each user may see. The archive and the subscriptions are for those who see every case."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kreis.core.web import parse_date
from kreis.service.analysis import figures, reports
from kreis.service.analysis.figures import Period
from kreis.service.models import ReportFrequency

RANGES = (30, 90, 365)
# A custom period longer than this is refused (the trends cover at most 12 months anyway).
MAX_DAYS = 3 * 366


def _allowed(request: HttpRequest) -> None:
    if not figures.may_view_analysis(request.user):
        raise PermissionDenied


def parse_period(get) -> tuple[Period, str, list[str]]:
    """The period of the page's picker: last 30/90/365 days or custom start–end."""
    errors: list[str] = []
    choice = get.get("range", "30")
    if choice == "custom":
        try:
            start, end = parse_date(get.get("start")), parse_date(get.get("end"))
        except ValueError:
            start = end = None
        if start is None or end is None:
            errors.append(_("Enter a start and an end date (YYYY-MM-DD)."))
        elif end < start:
            errors.append(_("The end date must not be before the start date."))
        elif (end - start).days + 1 > MAX_DAYS:
            errors.append(_("A period may span at most three years."))
        else:
            return Period(start, end), choice, errors
        choice = "30"
    days = int(choice) if choice.isdigit() and int(choice) in RANGES else 30
    return figures.last_days(days), str(days), errors


@require_GET
@login_required
def analysis_page(request: HttpRequest) -> HttpResponse:
    _allowed(request)
    period, choice, errors = parse_period(request.GET)
    data = figures.case_analysis(user=request.user, period=period)
    may_subscribe = figures.may_receive_reports(request.user)
    today = timezone.localdate()
    context = {
        **reports.figures_context(data),
        "period": period,
        "period_label": reports.period_label(period),
        "choice": choice,
        "ranges": RANGES,
        "errors": errors,
        "links": True,
        "may_subscribe": may_subscribe,
        "subscriptions": _subscriptions(request) if may_subscribe else [],
        "archive": list(reports.archived_reports_for_user(user=request.user)[:50]),
        "last_week_end": reports.last_complete_period(ReportFrequency.WEEKLY, today).end,
        "last_month_end": reports.last_complete_period(ReportFrequency.MONTHLY, today).end,
    }
    return render(request, "service/analysis/page.html", context)


def _subscriptions(request: HttpRequest) -> list[tuple[str, str, bool]]:
    active = reports.subscriptions_of(user=request.user)
    return [(value, label, active[value]) for value, label in ReportFrequency.choices]


def _report_period(request: HttpRequest) -> tuple[str, Period]:
    frequency = request.GET.get("frequency", ReportFrequency.WEEKLY)
    if frequency not in ReportFrequency.values:
        frequency = ReportFrequency.WEEKLY
    try:
        end = parse_date(request.GET.get("period_end"))
    except ValueError:
        end = None
    if end is None:
        end = reports.last_complete_period(frequency, timezone.localdate()).end
    return frequency, reports.report_period(frequency, end)


@require_GET
@login_required
def analysis_report(request: HttpRequest) -> HttpResponse:
    """The report of a week or month over the user's visible cases: HTML, or PDF with
    ``format=pdf``."""
    _allowed(request)
    frequency, period = _report_period(request)
    language = (get_language() or "de")[:2]
    html = reports.report_html(
        period=period, language=language, frequency=frequency, user=request.user
    )
    if request.GET.get("format") == "pdf":
        pdf = reports.report_pdf(html, title=reports.report_title(period, language))
        response = HttpResponse(pdf, content_type="application/pdf")
        name = reports.report_filename(frequency, period, language)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    return render(
        request,
        "service/analysis/report_page.html",
        {"report": html, "frequency": frequency, "period": period},
    )


@require_GET
@login_required
def archived_report(request: HttpRequest, pk: int) -> HttpResponse:
    report = reports.archived_report_get_for_user(user=request.user, pk=pk)
    response = HttpResponse(bytes(report.pdf), content_type="application/pdf")
    period = Period(report.period_start, report.period_end)
    name = reports.report_filename(report.frequency, period, report.language)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_POST
@login_required
def subscription(request: HttpRequest) -> HttpResponse:
    """Subscribe to or unsubscribe from the weekly or monthly report (the signed-in user)."""
    _allowed(request)
    frequency = request.POST.get("frequency", "")
    if frequency not in ReportFrequency.values:
        messages.error(request, _("Choose weekly or monthly."))
        return redirect("service:analysis")
    active = request.POST.get("active") == "1"
    if active and not figures.may_receive_reports(request.user):
        raise PermissionDenied
    reports.report_subscription_set(actor=request.user, frequency=frequency, active=active)
    label = dict(ReportFrequency.choices)[frequency]
    if active:
        messages.success(
            request,
            _("You get the %(kind)s complaint report by e-mail.") % {"kind": str(label).lower()},
        )
    else:
        messages.success(
            request,
            _("You no longer get the %(kind)s complaint report.") % {"kind": str(label).lower()},
        )
    return redirect("service:analysis")
