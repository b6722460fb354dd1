"""API route of the complaint analysis: the figures of a period as JSON (the page's figures).

For managers (administrators, sales managers) and service agents; the figures cover the cases
the caller may see (``kreis.service.rules``). Amounts are decimal strings."""

import datetime as dt
from typing import Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from kreis.core.api_support import PROBLEM_RESPONSES, Input, ObjectId, Pagination
from kreis.core.web import EARLIEST_DATE, LATEST_DATE
from kreis.service.analysis import figures, reports
from kreis.service.analysis.figures import Period
from kreis.service.models import ReportFrequency

router = Router(tags=["cases"])

MAX_DAYS = 3 * 366


@router.get(
    "/cases/analysis",
    response={200: dict, **PROBLEM_RESPONSES},
    summary=(
        "The complaint analysis of a period: Pareto and trends by category, product, root cause "
        "and channel; SLA compliance; times to acknowledge and resolve (business hours); "
        "dissatisfied customers with and without a case; costs against the CLV retained"
    ),
    operation_id="case_analysis",
)
def case_analysis(request: HttpRequest, start: dt.date | None = None, end: dt.date | None = None):
    user = request.auth
    if not figures.may_view_analysis(user):
        raise PermissionDenied
    for name, day in (("start", start), ("end", end)):
        if day is not None and not EARLIEST_DATE <= day <= LATEST_DATE:
            raise ValidationError({name: f"Give a day from {EARLIEST_DATE} to {LATEST_DATE}."})
    default = figures.last_days(30)
    end = end or (start + dt.timedelta(days=29) if start else default.end)
    start = start or end - dt.timedelta(days=29)
    if end < start:
        raise ValidationError({"end": "The end date must not be before the start date."})
    if (end - start).days + 1 > MAX_DAYS:
        raise ValidationError({"end": "A period may span at most three years."})
    return figures.case_analysis(user=user, period=Period(start, end))


# --- The complaint report: the caller's subscriptions and the archive -------------------------

Frequency = Literal[tuple(ReportFrequency.values)]  # type: ignore[valid-type]


class SubscriptionsOut(Schema):
    weekly: bool = Field(description="Gets the weekly report (Mondays, the past week)")
    monthly: bool = Field(description="Gets the monthly report (on the 1st, the past month)")


class SubscriptionIn(Input):
    active: bool


class ArchivedReportOut(Schema):
    id: int
    frequency: str
    period_start: dt.date
    period_end: dt.date
    language: str
    sent_to: int
    created_at: dt.datetime


@router.get(
    "/cases/report-subscriptions",
    response={200: SubscriptionsOut, **PROBLEM_RESPONSES},
    summary="The caller's subscriptions to the complaint report",
    operation_id="case_report_subscriptions",
)
def report_subscriptions(request: HttpRequest):
    if not figures.may_view_analysis(request.auth):
        raise PermissionDenied
    return reports.subscriptions_of(user=request.auth)


@router.put(
    "/cases/report-subscriptions/{frequency}",
    response={200: SubscriptionsOut, **PROBLEM_RESPONSES},
    summary="Subscribe the caller to the weekly or monthly complaint report, or end it",
    operation_id="case_report_subscription_set",
)
def report_subscription_set(request: HttpRequest, frequency: Frequency, payload: SubscriptionIn):
    user = request.auth
    if not figures.may_view_analysis(user):
        raise PermissionDenied
    reports.report_subscription_set(actor=user, frequency=frequency, active=payload.active)
    return reports.subscriptions_of(user=user)


@router.get(
    "/cases/reports",
    response={200: list[ArchivedReportOut], **PROBLEM_RESPONSES},
    summary="The archived complaint reports (administrators and sales managers)",
    operation_id="case_report_list",
)
@paginate(Pagination)
def report_list(request: HttpRequest):
    if not figures.may_view_analysis(request.auth):
        raise PermissionDenied
    return reports.archived_reports_for_user(user=request.auth)


@router.get(
    "/cases/reports/{report_id}/pdf",
    response={200: None, **PROBLEM_RESPONSES},
    summary="An archived complaint report as PDF",
    operation_id="case_report_pdf",
)
def report_pdf(request: HttpRequest, report_id: ObjectId):
    report = reports.archived_report_get_for_user(user=request.auth, pk=report_id)
    response = HttpResponse(bytes(report.pdf), content_type="application/pdf")
    period = Period(report.period_start, report.period_end)
    name = reports.report_filename(report.frequency, period, report.language)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
