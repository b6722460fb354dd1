"""``kreis cases report``: the complaint report of a week or a month as PDF.

    kreis cases report --frequency weekly|monthly [--period-end YYYY-MM-DD] [--output FILE]
                       [--language de|en] [--send]

The period is the week (Monday–Sunday) or calendar month containing ``--period-end``; without
it the last complete one. ``--output`` writes the PDF (over every case) to a file; ``--send``
mails it to the active subscribers who have not had this period's report yet (one archived PDF
per language, never twice for a period — the job on Mondays and on the 1st does the same).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.utils import timezone

from kreis.service.analysis import reports
from kreis.service.models import ReportFrequency


def register(subparsers) -> None:
    report = subparsers.add_parser(
        "report", help="the weekly or monthly complaint report as PDF: write it, send it"
    )
    report.add_argument("--frequency", required=True, choices=ReportFrequency.values)
    report.add_argument(
        "--period-end",
        help="a day of the week or month to report (YYYY-MM-DD; default: the last complete one)",
    )
    report.add_argument("--output", help="write the PDF to this file")
    report.add_argument(
        "--language",
        choices=[code for code, _name in settings.LANGUAGES],
        default="de",
        help="the language of the PDF written with --output (default: de)",
    )
    report.add_argument(
        "--send", action="store_true", help="send it to the subscribers who have not had it"
    )
    report.set_defaults(run=run_report)


def _period(options) -> reports.Period:
    frequency = options["frequency"]
    raw = options.get("period_end")
    if not raw:
        return reports.last_complete_period(frequency, timezone.localdate())
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError as exc:
        raise CommandError(f"--period-end: expected YYYY-MM-DD, got {raw!r}") from exc
    return reports.report_period(frequency, day)


def run_report(command, options) -> None:
    frequency = options["frequency"]
    period = _period(options)
    if not options.get("output") and not options.get("send"):
        raise CommandError("nothing to do: give --output FILE, --send or both")
    if options.get("output"):
        language = options["language"]
        html = reports.report_html(period=period, language=language, frequency=frequency)
        pdf = reports.report_pdf(html, title=reports.report_title(period, language))
        Path(options["output"]).write_bytes(pdf)
        command.stdout.write(
            f"{frequency} report {period.start} – {period.end} ({language}) written to "
            f"{options['output']} ({len(pdf)} bytes)"
        )
    if options.get("send"):
        result = reports.reports_send(frequency=frequency, period=period)
        command.stdout.write(
            f"{frequency} report {period.start} – {period.end}: sent to {result.sent} "
            f"subscriber(s), {result.failed} failed"
        )
        if result.failed:
            raise CommandError(f"{result.failed} report(s) could not be sent (see the log)")
