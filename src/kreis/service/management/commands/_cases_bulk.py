"""``kreis cases list|export|import|close-resolved``: bulk work on cases.

Reads go through ``kreis.service.queries`` (``--user``: only what that user may see; without
it the system's view, every case), writes through ``kreis.service.services`` — the same
numbering, assignment, SLA and recorded transitions as in the web UI and the API.

The import reads a CSV of cases from another system, one case a row::

    customer,category,severity,subject,description,created
    anna@example.com,Product defect,high,Pump leaks,"Since Monday …",2025-03-04

``customer`` is the party's e-mail address or its external ID; ``category`` the category's
German or English name; ``severity`` low|medium|high|critical (or the German names; default
medium);
``created`` an ISO date or date and time (default: now). Every row is checked first; one bad
row stops the import with the row's number and reason, and nothing is written. The whole file
is written in one transaction. ``--dry-run`` checks without writing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from kreis.core.models import Role, User
from kreis.parties.models import ContactKind, ContactPoint, Party
from kreis.parties.normalize import normalize_email
from kreis.service import queries, services
from kreis.service.models import Case, CaseCategory, CaseStatus, Channel, Severity

EXPORT_FIELDS = (
    "number",
    "status",
    "severity",
    "channel",
    "category",
    "customer",
    "customer_id",
    "customer_external_id",
    "contact",
    "product",
    "region",
    "subject",
    "description",
    "language",
    "waiting_for_customer",
    "overdue",
    "owner",
    "team",
    "root_cause",
    "ack_due_at",
    "resolve_due_at",
    "acknowledged_at",
    "resolved_at",
    "closed_at",
    "created_at",
    "updated_at",
)
LIST_FIELDS = ("number", "status", "severity", "customer", "owner", "overdue", "subject")
IMPORT_COLUMNS = ("customer", "category", "severity", "subject", "description", "created")
REQUIRED_COLUMNS = ("customer", "category", "subject")
SEVERITY_NAMES = {
    **{value: value for value in Severity.values},
    "niedrig": Severity.LOW,
    "mittel": Severity.MEDIUM,
    "hoch": Severity.HIGH,
    "kritisch": Severity.CRITICAL,
}


def register(subparsers) -> None:
    listing = subparsers.add_parser("list", help="cases, filtered (a table, --json or --csv)")
    _user_option(listing)
    listing.add_argument("--status", choices=CaseStatus.values)
    listing.add_argument("--severity", choices=Severity.values)
    listing.add_argument("--overdue", action="store_true", help="only open cases past due")
    listing.add_argument("--limit", type=int, default=0, help="at most this many (0: all)")
    output = listing.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true")
    output.add_argument("--csv", action="store_true")
    listing.set_defaults(run=run_list)

    export = subparsers.add_parser("export", help="every field of the cases, as CSV or JSON")
    _user_option(export)
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--output", help="write to this file (default: standard output)")
    export.set_defaults(run=run_export)

    importing = subparsers.add_parser(
        "import", help="cases from another system (CSV: " + ",".join(IMPORT_COLUMNS) + ")"
    )
    importing.add_argument("file")
    importing.add_argument("--dry-run", action="store_true", help="check only, write nothing")
    importing.add_argument("--channel", choices=Channel.values, default=Channel.LETTER)
    importing.add_argument("--language", choices=("de", "en"), default="de")
    importing.set_defaults(run=run_import)

    closing = subparsers.add_parser(
        "close-resolved", help="close the cases resolved more than DAYS days ago"
    )
    closing.add_argument("--older-than", type=int, required=True, metavar="DAYS")
    closing.add_argument("--dry-run", action="store_true", help="only count them")
    closing.add_argument(
        "--base-url",
        default="",
        metavar="URL",
        help="the address Kreis is reached at, e.g. https://crm.example.com/: each customer "
        "then gets the closing e-mail with the link to rate the resolution (without it: none)",
    )
    closing.set_defaults(run=run_close_resolved)


def _user_option(parser) -> None:
    parser.add_argument("--user", help="only the cases this user may see (default: all)")


def _cases(options, sort: str = "created", **filters):
    """Cases for the listing and the export: through the permission-aware query."""
    user = None
    if options.get("user"):
        user = User.objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {options['user']!r}")
    if user is None:
        # The system's view (every case, as an administrator sees them): an unsaved
        # administrator, so the same query applies its filters without a permission filter.
        user = User(username="system", role=Role.ADMIN, is_active=True)
    qs = queries.case_list_for_user(user=user, sort=sort, **filters)
    return qs.select_related("contact", "product", "team", "root_cause")


def _row(case: Case, now: dt.datetime) -> dict:
    def when(value):
        return value.isoformat() if value else None

    return {
        "number": case.number,
        "status": case.status,
        "severity": case.severity,
        "channel": case.channel,
        "category": case.category.name,
        "customer": case.party.name,
        "customer_id": case.party_id,
        "customer_external_id": case.party.external_id or "",
        "contact": case.contact.name if case.contact else "",
        "product": case.product.name if case.product else "",
        "region": case.region,
        "subject": case.subject,
        "description": case.description,
        "language": case.language,
        "waiting_for_customer": case.waiting_for_customer,
        "overdue": case.is_overdue(now),
        "owner": case.owner.username if case.owner else "",
        "team": case.team.name if case.team else "",
        "root_cause": case.root_cause.name if case.root_cause else "",
        "ack_due_at": when(case.ack_due_at),
        "resolve_due_at": when(case.resolve_due_at),
        "acknowledged_at": when(case.acknowledged_at),
        "resolved_at": when(case.resolved_at),
        "closed_at": when(case.closed_at),
        "created_at": when(case.created_at),
        "updated_at": when(case.updated_at),
    }


def _write_csv(stream, rows: list[dict], fields) -> None:
    writer = csv.DictWriter(stream, fieldnames=list(fields), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)


def run_list(command, options) -> None:
    qs = _cases(
        options,
        sort="-created",
        status=options["status"] or "",
        severity=options["severity"] or "",
        overdue=options["overdue"],
    )
    if options["limit"]:
        qs = qs[: options["limit"]]
    now = timezone.now()
    rows = [_row(case, now) for case in qs]
    if options["json"]:
        command.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if options["csv"]:
        buffer = io.StringIO()
        _write_csv(buffer, rows, LIST_FIELDS)
        command.stdout.write(buffer.getvalue(), ending="")
        return
    for row in rows:
        command.stdout.write(
            f"{row['number']:<14} {row['status']:<17} {row['severity']:<8} "
            f"{'OVERDUE' if row['overdue'] else '':<7} {row['owner'] or '-':<12} "
            f"{row['customer'][:28]:<28} {row['subject'][:60]}"
        )
    command.stdout.write(f"{len(rows)} case(s)")


def run_export(command, options) -> None:
    now = timezone.now()
    rows = [_row(case, now) for case in _cases(options).iterator(chunk_size=500)]
    if options["format"] == "json":
        text = json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
    else:
        buffer = io.StringIO()
        _write_csv(buffer, rows, EXPORT_FIELDS)
        text = buffer.getvalue()
    if options["output"]:
        with open(options["output"], "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        command.stdout.write(f"{len(rows)} case(s) written to {options['output']}")
    else:
        command.stdout.write(text, ending="")


# --- Import ---------------------------------------------------------------------------------


@dataclass
class _ImportRow:
    line: int
    party: Party
    category: CaseCategory
    severity: str
    subject: str
    description: str
    created: dt.datetime | None


def _party(value: str) -> Party | None:
    """The customer by e-mail address (a contact point) or by external ID."""
    value = value.strip()
    if "@" in value:
        try:
            email = normalize_email(value)
        except ValidationError:
            return None
        point = (
            ContactPoint.objects.filter(
                kind=ContactKind.EMAIL, value=email, party__deleted_at__isnull=True
            )
            .select_related("party")
            .order_by("pk")
            .first()
        )
        return point.party if point else None
    return Party.objects.filter(external_id=value, deleted_at__isnull=True).first()


def _created(value: str) -> dt.datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"“{value}” is not a date (YYYY-MM-DD or YYYY-MM-DD HH:MM)") from None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    if parsed > timezone.now():
        raise ValueError(f"“{value}” lies in the future")
    return parsed


def read_import(handle) -> tuple[list[_ImportRow], list[str]]:
    """Parse and check every row; (rows, errors) — errors name the line and the reason."""
    reader = csv.DictReader(handle)
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        return [], [f"the file lacks the column(s): {', '.join(missing)}"]
    reader.fieldnames = header
    by_name: dict[str, CaseCategory] = {}
    for category in CaseCategory.objects.filter(is_active=True):
        by_name.setdefault(category.name_de.strip().lower(), category)
        by_name.setdefault(category.name_en.strip().lower(), category)
    rows: list[_ImportRow] = []
    errors: list[str] = []
    for line, raw in enumerate(reader, start=2):
        data = {k: (v or "").strip() for k, v in raw.items() if k}
        problems = []
        party = _party(data.get("customer", "")) if data.get("customer") else None
        if party is None:
            problems.append(f"no customer with e-mail or external ID “{data.get('customer', '')}”")
        category = by_name.get(data.get("category", "").lower())
        if category is None:
            problems.append(f"no active category “{data.get('category', '')}”")
        severity = SEVERITY_NAMES.get(data.get("severity", "").lower() or "medium")
        if severity is None:
            problems.append(f"unknown severity “{data.get('severity')}”")
        subject = data.get("subject", "")
        if not subject:
            problems.append("the subject is empty")
        elif len(subject) > 200:
            problems.append("the subject is longer than 200 characters")
        created = None
        try:
            created = _created(data.get("created", ""))
        except ValueError as exc:
            problems.append(str(exc))
        if problems:
            errors.append(f"line {line}: " + "; ".join(problems))
            continue
        rows.append(
            _ImportRow(
                line=line,
                party=party,  # type: ignore[arg-type]
                category=category,  # type: ignore[arg-type]
                severity=severity,  # type: ignore[arg-type]
                subject=subject,
                description=data.get("description", ""),
                created=created,
            )
        )
    return rows, errors


@transaction.atomic
def import_cases(*, rows: list[_ImportRow], channel: str, language: str) -> list[Case]:
    """Create the cases through ``case_create`` (no acknowledgement mail: old cases); a case
    with a ``created`` date gets that date and the SLA due dates counted from it."""
    made = []
    for row in rows:
        try:
            case = services.case_create(
                actor=None,
                party=row.party,
                channel=channel,
                category=row.category,
                severity=row.severity,
                subject=row.subject,
                description=row.description,
                language=language,
                acknowledge=False,
            )
        except ValidationError as exc:
            raise ValidationError(f"line {row.line}: " + "; ".join(exc.messages)) from exc
        if row.created is not None:
            ack_due, resolve_due = services.due_dates(severity=case.severity, start=row.created)
            Case.objects.filter(pk=case.pk).update(
                created_at=row.created, ack_due_at=ack_due, resolve_due_at=resolve_due
            )
            case.refresh_from_db()
        made.append(case)
    return made


def run_import(command, options) -> None:
    try:
        with open(options["file"], encoding="utf-8-sig", newline="") as handle:
            rows, errors = read_import(handle)
    except OSError as exc:
        raise CommandError(f"cannot read {options['file']}: {exc.strerror}") from None
    if errors:
        for error in errors:
            command.stderr.write(error)
        raise CommandError(f"{len(errors)} bad row(s): nothing imported")
    if options["dry_run"]:
        command.stdout.write(f"{len(rows)} case(s) would be imported (dry run: nothing written)")
        return
    try:
        made = import_cases(rows=rows, channel=options["channel"], language=options["language"])
    except ValidationError as exc:
        raise CommandError(" ".join(exc.messages) + ": nothing imported") from None
    command.stdout.write(
        f"{len(made)} case(s) imported"
        + (f": {made[0].number} … {made[-1].number}" if made else "")
    )


# --- Closing ---------------------------------------------------------------------------------


def run_close_resolved(command, options) -> None:
    days = options["older_than"]
    if days < 0:
        raise CommandError("--older-than must be 0 or more days")
    base_url = options["base_url"]
    if base_url and not base_url.startswith(("https://", "http://")):
        raise CommandError("--base-url must be an address such as https://crm.example.com/")
    before = timezone.now() - dt.timedelta(days=days)
    cases = list(
        Case.objects.filter(status=CaseStatus.RESOLVED, resolved_at__lt=before).order_by("pk")
    )
    if options["dry_run"]:
        command.stdout.write(f"{len(cases)} resolved case(s) would be closed (dry run)")
        return
    note = f"Closed in bulk: resolved more than {days} days ago"
    closed = 0
    for case in cases:
        services.case_transition(
            actor=None,
            case=case,
            to_status=CaseStatus.CLOSED,
            note=note,
            base_url=base_url,
        )
        closed += 1
        if sys.stdout.isatty() and closed % 100 == 0:
            command.stdout.write(f"  {closed}/{len(cases)} …")
    command.stdout.write(f"{closed} case(s) closed")
