"""API route of the complaint analysis: the figures of a period as JSON (the page's figures).

For managers (administrators, sales managers) and service agents; the figures cover the cases
the caller may see (``kreis.service.rules``). Amounts are decimal strings."""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from ninja import Router

from kreis.core.api_support import PROBLEM_RESPONSES
from kreis.core.web import EARLIEST_DATE, LATEST_DATE
from kreis.service.analysis import figures
from kreis.service.analysis.figures import Period

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
