"""Reporting (DOMAIN.md §5, indirect process): the complaint report of a week or a month as
HTML and PDF (WeasyPrint) with SVG charts, archived as ``ComplaintReport`` rows and sent as a
PDF attachment to the users who subscribed (``ReportSubscription``).

The report covers every case (one PDF per language and frequency for all subscribers), so only
those who see every case subscribe to it and open the archive (``figures.may_receive_reports``).

Sending is idempotent per subscriber and period: a subscription is claimed with a conditional
``UPDATE … SET last_sent_at = now WHERE last_sent_at IS NULL OR last_sent_at < <end of the
period>`` before its mail goes out, so two runs (two workers, a retry, the CLI beside the job)
never send the same period twice; a mail that fails gives its claim back and is logged, and the
next run tries again.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext as _

from kreis.core.models import User
from kreis.service.analysis import charts, figures
from kreis.service.analysis.figures import Period
from kreis.service.models import ComplaintReport, ReportFrequency, ReportSubscription

log = logging.getLogger("kreis.service.reports")

LANGUAGE_CODES = [code for code, _name in settings.LANGUAGES]


# --- Periods -----------------------------------------------------------------------------------


def report_period(frequency: str, period_end: dt.date) -> Period:
    """The week (Monday–Sunday) or the calendar month that contains ``period_end``."""
    if frequency == ReportFrequency.WEEKLY:
        monday = period_end - dt.timedelta(days=period_end.weekday())
        return Period(monday, monday + dt.timedelta(days=6), grain="week")
    if frequency == ReportFrequency.MONTHLY:
        first = period_end.replace(day=1)
        following = (first + dt.timedelta(days=32)).replace(day=1)
        return Period(first, following - dt.timedelta(days=1), grain="month")
    raise ValueError(f"unknown frequency {frequency!r}")


def last_complete_period(frequency: str, today: dt.date) -> Period:
    """The last complete week or month before ``today``."""
    if frequency == ReportFrequency.WEEKLY:
        return report_period(frequency, today - dt.timedelta(days=today.weekday() + 1))
    return report_period(frequency, today.replace(day=1) - dt.timedelta(days=1))


def due_frequencies(today: dt.date) -> list[str]:
    """Weekly reports go out on Mondays, monthly ones on the first of the month."""
    due = []
    if today.weekday() == 0:
        due.append(ReportFrequency.WEEKLY)
    if today.day == 1:
        due.append(ReportFrequency.MONTHLY)
    return due


# --- The report --------------------------------------------------------------------------------


def _dimension_title(dimension: str) -> str:
    titles = {
        "category": _("By category"),
        "product": _("By product"),
        "root_cause": _("By root cause"),
        "channel": _("By channel"),
    }
    return titles[dimension]


def sections(data: dict) -> list[dict]:
    """The evaluation's dimensions with their titles and SVG charts, in the active language."""
    f = data["formulas"]
    result = []
    for dimension in figures.DIMENSIONS:
        table = data["evaluation"][dimension]
        title = _dimension_title(dimension)
        result.append(
            {
                "dimension": dimension,
                "title": title,
                "table": table,
                "pareto_svg": charts.pareto_svg(
                    table["items"],
                    title=f["pareto"],
                    label=_("Pareto chart") + ": " + title,
                    line_label=_("80 % line"),
                ),
                "trend_svg": charts.lines_svg(
                    period_ticks(table["trend"]),
                    table["trend"]["series"],
                    title=f["trend"],
                    label=_("Trend") + ": " + title,
                ),
            }
        )
    return result


def period_ticks(trend: dict) -> list[str]:
    """Short labels of the trend's periods: month/year, or the week's Monday (day.month.)."""
    days = [dt.date.fromisoformat(p) if isinstance(p, str) else p for p in trend["periods"]]
    if trend["grain"] == "month":
        return [f"{d:%m/%y}" for d in days]
    german = (translation.get_language() or "").startswith("de")
    return [f"{d:%d.%m.}" if german else f"{d:%m/%d}" for d in days]


def durations(data: dict) -> list[tuple]:
    """(key, title, summary, formula, histogram SVG) of the time to acknowledge and to resolve."""
    f = data["formulas"]
    rows = []
    for key, title, formula in (
        ("acknowledge", _("Time to acknowledge (business hours)"), f["ack_time"]),
        ("resolve", _("Time to resolve (business hours)"), f["resolve_time"]),
    ):
        summary = data["durations"][key]
        svg = charts.histogram_svg(summary["histogram"], title=formula, label=title)
        rows.append((key, title, summary, formula, svg))
    return rows


def figures_context(data: dict) -> dict:
    """What ``service/analysis/_figures.html`` needs, in the active language."""
    return {"data": data, "sections": sections(data), "durations": durations(data)}


def period_label(period: Period) -> str:
    start = formats.date_format(period.start, "SHORT_DATE_FORMAT")
    end = formats.date_format(period.end, "SHORT_DATE_FORMAT")
    return f"{start} – {end}"


def report_html(
    *, period: Period, language: str, frequency: str = "", user: User | None = None
) -> str:
    """The report as an HTML fragment (an <article>) in ``language``; ``user`` None: all cases."""
    with translation.override(language):
        data = figures.case_analysis(user=user, period=period)
        labels = dict(ReportFrequency.choices)
        return render_to_string(
            "service/analysis/report.html",
            {
                **figures_context(data),
                "period": period,
                "period_label": period_label(period),
                "frequency_label": labels.get(frequency, ""),
                "created_at": timezone.now(),
                "language": language,
            },
        )


PDF_CSS = """
@page { size: A4; margin: 16mm 14mm; @bottom-right { content: counter(page) " / " counter(pages);
  font-size: 8pt; color: #777; } }
body { font-family: sans-serif; font-size: 9.5pt; color: #222; }
h1 { font-size: 17pt; margin-bottom: 2pt; } h2 { font-size: 13pt; margin-top: 14pt;
  border-bottom: 0.5pt solid #999; } h3 { font-size: 11pt; margin: 10pt 0 4pt; }
table { border-collapse: collapse; width: 100%; margin-bottom: 8pt; }
th, td { border-bottom: 0.5pt solid #ccc; padding: 2pt 4pt; text-align: left; vertical-align: top; }
.text-end { text-align: right; }
.meta, .formula, .text-body-secondary { color: #555; font-size: 8.5pt; }
svg.case-chart { width: 130mm; height: auto; }
figure { margin: 4pt 0; page-break-inside: avoid; } h3, h4 { page-break-after: avoid; }
.badge { font-size: 7pt; font-weight: bold; color: #fff; background: #2f6fdf; padding: 0 2pt;
  border-radius: 2pt; }
.small { font-size: 8.5pt; } .duration-block { page-break-inside: avoid; }
.visually-hidden { display: none; } a { color: #222; text-decoration: none; }
.kpis td { width: 25%; }
"""


def report_title(period: Period, language: str) -> str:
    """The PDF's title (its metadata): the report and the period as an ISO 8601 interval."""
    with translation.override(language):
        return f"{_('Complaint report')} {period.start.isoformat()}/{period.end.isoformat()}"


def report_pdf(html: str, *, title: str = "") -> bytes:
    """The report as PDF (WeasyPrint), the fragment wrapped in a print page."""
    from weasyprint import HTML

    document = (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{PDF_CSS}</style></head><body>{html}</body></html>"
    )
    return HTML(string=document).write_pdf()


def report_filename(frequency: str, period: Period, language: str) -> str:
    return f"complaint-report-{frequency or 'period'}-{period.start}-{period.end}-{language}.pdf"


# --- Archive -----------------------------------------------------------------------------------


def report_archive(*, frequency: str, period: Period, language: str) -> ComplaintReport:
    """The archived report of the period and language; written (HTML → PDF) when missing."""
    found = (
        ComplaintReport.objects.filter(
            frequency=frequency,
            period_start=period.start,
            period_end=period.end,
            language=language,
        )
        .order_by("pk")
        .first()
    )
    if found is not None:
        return found
    html = report_html(period=period, language=language, frequency=frequency)
    return ComplaintReport.objects.create(
        frequency=frequency,
        period_start=period.start,
        period_end=period.end,
        language=language,
        pdf=report_pdf(html, title=report_title(period, language)),
    )


def archived_reports_for_user(*, user: User) -> QuerySet[ComplaintReport]:
    if not figures.may_receive_reports(user):
        return ComplaintReport.objects.none()
    return ComplaintReport.objects.defer("pdf").order_by("-period_end", "frequency", "language")


def archived_report_get_for_user(*, user: User, pk: int) -> ComplaintReport:
    """An archived report the user may open; 404 otherwise."""
    report = ComplaintReport.objects.filter(pk=pk).first()
    if report is None or not figures.may_receive_reports(user):
        raise Http404
    return report


# --- Subscriptions -----------------------------------------------------------------------------


def subscriptions_of(*, user: User) -> dict[str, bool]:
    """{frequency: active} of the user's subscriptions."""
    active = dict(
        ReportSubscription.objects.filter(user=user).values_list("frequency", "is_active")
    )
    return {f: bool(active.get(f)) for f in ReportFrequency.values}


@transaction.atomic
def report_subscription_set(*, actor: User, frequency: str, active: bool) -> ReportSubscription:
    """Subscribe the actor to the weekly or monthly report, or end the subscription."""
    if frequency not in ReportFrequency.values:
        raise ValueError(f"unknown frequency {frequency!r}")
    if active and not figures.may_receive_reports(actor):
        raise PermissionDenied
    subscription, _created = ReportSubscription.objects.get_or_create(
        user=actor, frequency=frequency, defaults={"is_active": active}
    )
    if subscription.is_active != active:
        subscription.is_active = active
        subscription.save(update_fields=["is_active"])
    return subscription


# --- Sending -----------------------------------------------------------------------------------


@dataclass
class SendResult:
    frequency: str
    period: Period
    sent: int = 0
    failed: int = 0
    reports: list[ComplaintReport] | None = None


def _language_of(user: User) -> str:
    language = (user.language or settings.LANGUAGE_CODE or "de")[:2]
    return language if language in LANGUAGE_CODES else LANGUAGE_CODES[0]


def _claim(subscription: ReportSubscription, *, end: dt.datetime, now: dt.datetime) -> bool:
    """Take the subscription for this period: True for exactly one run."""
    return bool(
        ReportSubscription.objects.filter(pk=subscription.pk, is_active=True)
        .filter(Q(last_sent_at__isnull=True) | Q(last_sent_at__lt=end))
        .update(last_sent_at=now)
    )


def reports_send(*, frequency: str, period: Period, now: dt.datetime | None = None) -> SendResult:
    """Send the period's report to every active subscriber of the frequency who has not had it,
    one PDF per language (archived); failures are logged and left for the next run."""
    now = now or timezone.now()
    end = period.bounds()[1]
    result = SendResult(frequency=frequency, period=period, reports=[])
    subscriptions = (
        ReportSubscription.objects.filter(frequency=frequency, is_active=True, user__is_active=True)
        .filter(Q(last_sent_at__isnull=True) | Q(last_sent_at__lt=end))
        .select_related("user")
        .order_by("pk")
    )
    by_language: dict[str, list[ReportSubscription]] = {}
    for subscription in subscriptions:
        if not subscription.user.email or not figures.may_receive_reports(subscription.user):
            continue
        by_language.setdefault(_language_of(subscription.user), []).append(subscription)
    for language, group in sorted(by_language.items()):
        try:
            report = report_archive(frequency=frequency, period=period, language=language)
        except Exception:
            log.exception(
                "complaint report %s %s (%s) could not be written", frequency, period, language
            )
            result.failed += len(group)
            continue
        result.reports.append(report)
        sent_now = 0
        for subscription in group:
            previous = subscription.last_sent_at
            if not _claim(subscription, end=end, now=now):
                continue  # another run sent it
            try:
                _mail(report, subscription.user, period=period, frequency=frequency)
            except Exception:
                log.exception(
                    "complaint report %s %s to user %s failed",
                    frequency,
                    period,
                    subscription.user_id,
                )
                ReportSubscription.objects.filter(pk=subscription.pk, last_sent_at=now).update(
                    last_sent_at=previous
                )
                result.failed += 1
                continue
            sent_now += 1
        if sent_now:
            ComplaintReport.objects.filter(pk=report.pk).update(sent_to=report.sent_to + sent_now)
            report.sent_to += sent_now
        result.sent += sent_now
    return result


def _mail(report: ComplaintReport, user: User, *, period: Period, frequency: str) -> None:
    with translation.override(report.language):
        label = period_label(period)
        kind = dict(ReportFrequency.choices)[frequency]
        subject = _("Complaint report %(period)s") % {"period": label}
        body = _(
            "Hello %(name)s,\n\nattached is the %(kind)s complaint report for %(period)s.\n\n"
            "You get it because you subscribed to it on the complaint analysis page, where you "
            "can also end the subscription.\n"
        ) % {
            "name": user.get_full_name() or user.username,
            "kind": str(kind).lower(),
            "period": label,
        }
    message = EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    message.attach(
        report_filename(frequency, period, report.language), bytes(report.pdf), "application/pdf"
    )
    message.send(fail_silently=False)


def reports_send_due(*, today: dt.date | None = None) -> list[SendResult]:
    """The periodic job: on Mondays last week's report, on the 1st last month's."""
    today = today or timezone.localdate()
    return [
        reports_send(frequency=frequency, period=last_complete_period(frequency, today))
        for frequency in due_frequencies(today)
    ]
