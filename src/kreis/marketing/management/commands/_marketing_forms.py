"""``kreis marketing forms list|submissions KEY [--since]|export KEY``: web forms in bulk.

- ``list``: every form with its address, language, state and number of submissions.
- ``submissions KEY``: the form's submissions, newest first (``--since`` YYYY-MM-DD or an ISO
  time; ``--json`` prints JSON).
- ``export KEY``: the submissions as CSV on standard output (``--since`` as above).
- ``process [--failed]``: process now what waits (the inbox file of a SQLite installation,
  pending submissions); ``--failed`` first puts the failed ones back to pending.
"""

from __future__ import annotations

import csv
import datetime as dt
import json

from django.core.management.base import CommandError
from django.utils import timezone

from kreis.marketing.models import FormSubmission, LeadForm, SubmissionOutcome
from kreis.marketing.webforms import queries


def register(subparsers) -> None:
    parser = subparsers.add_parser("forms", help="Web forms: list, submissions, export")
    actions = parser.add_subparsers(dest="forms_action", required=True)
    actions.add_parser("list", help="Every form with its submissions count")
    process = actions.add_parser("process", help="Process waiting and pending submissions now")
    process.add_argument(
        "--failed", action="store_true", help="Also the failed ones (after the cause is fixed)"
    )
    for name, text in (
        ("submissions", "A form's submissions, newest first"),
        ("export", "A form's submissions as CSV"),
    ):
        sub = actions.add_parser(name, help=text)
        sub.add_argument("key", help="The form's address key (/f/<key>/)")
        sub.add_argument("--since", help="Only from this day (YYYY-MM-DD) or time (ISO) on")
        if name == "submissions":
            sub.add_argument("--json", action="store_true", help="Print JSON")
    parser.set_defaults(run=run)


def _since(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise CommandError("--since: give a day as YYYY-MM-DD or an ISO time") from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _form(key: str) -> LeadForm:
    form = queries.form_by_key(key)
    if form is None:
        raise CommandError(f"There is no web form with the key {key!r}.")
    return form


def _process(out, *, failed: bool) -> None:
    from kreis.marketing.webforms import services, tasks

    again = 0
    if failed:
        for submission in FormSubmission.objects.filter(outcome=SubmissionOutcome.FAILED):
            services.retry(actor=None, submission=submission)
            again += 1
    services.move_waiting()
    ids = list(
        FormSubmission.objects.filter(outcome=SubmissionOutcome.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    done = 0
    for n, pk in enumerate(ids, 1):
        done += tasks.process_submission.call_local(pk)
        if n % 100 == 0 or n == len(ids):
            out.write(f"{n}/{len(ids)} processed", ending="\r" if n < len(ids) else "\n")
    left = FormSubmission.objects.filter(
        outcome__in=[SubmissionOutcome.PENDING, SubmissionOutcome.FAILED]
    ).count()
    out.write(
        f"{done} submissions processed ({again} failed ones put back first); "
        f"{left} still pending or failed"
    )


def run(command, options) -> None:
    out = command.stdout
    action = options["forms_action"]
    if action == "process":
        _process(out, failed=options["failed"])
        return
    if action == "list":
        forms = LeadForm.objects.order_by("name", "pk")
        for form in queries.annotate_counts(forms):
            state = "active" if form.is_active else "inactive"
            last = (
                form.last_submission.isoformat(timespec="minutes") if form.last_submission else "-"
            )
            out.write(
                f"{form.key:<30} {form.language}  {state:<8} {form.n_submissions:>7}  {last}  "
                f"{form.name}"
            )
        return
    form = _form(options["key"])
    since = _since(options.get("since"))
    if action == "export":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(queries.EXPORT_HEADER)
        writer.writerows(queries.export_rows(form, since=since))
        return
    rows = list(queries.submissions(form, since=since)[:10_000])
    if options.get("json"):
        out.write(
            json.dumps(
                [
                    {
                        "id": s.id,
                        "sent": s.created_at.isoformat(),
                        "outcome": s.outcome,
                        "lead_id": s.lead_id,
                        "party_id": s.party_id,
                        "campaign": s.campaign.code if s.campaign else None,
                        "utm_campaign": s.utm_campaign,
                        "data": s.data,
                    }
                    for s in rows
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    out.write(f"{len(rows)} submissions of {form.name} (/f/{form.key}/)")
    for s in rows:
        who = f"lead {s.lead_id}" if s.lead_id else f"party {s.party_id}" if s.party_id else "-"
        out.write(
            f"{s.created_at.isoformat(timespec='minutes')}  {s.outcome:<8} {who:<14} "
            f"{s.utm_campaign or '-'}  {s.data.get('email', '')}"
        )
