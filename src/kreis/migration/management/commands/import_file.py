"""``kreis import FILE --type …``: import a CSV, XLSX, vCard or JSON file from the command line.

The same services as the web wizard and the API: the file is checked first (every row, the
check job's code run in this process), then imported chunk by chunk in this process, each
with a progress bar; the summary and the bad rows are printed. Exit status 1 when rows are
invalid and not skipped (nothing is imported then), or when the import failed.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from kreis.core.models import User
from kreis.migration import services
from kreis.migration.management.commands._report import (
    ProgressBar,
    bad_rows,
    check_in_process,
    check_lines,
    run_in_process,
    summary,
)
from kreis.migration.models import (
    DuplicateMode,
    ImportEntity,
    ImportSource,
    ImportStatus,
    MappingTemplate,
)


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)


class Command(BaseCommand):
    help = "Import organisations, persons, leads, deals, activities, products or transactions."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="CSV, XLSX, vCard or JSON file")
        parser.add_argument("--type", required=True, choices=ImportEntity.values, dest="entity")
        parser.add_argument(
            "--mapping",
            help="a saved mapping template's name, or a JSON file {column: field}; "
            "without it a recognised export's mapping or the suggestions from the headers",
        )
        parser.add_argument(
            "--duplicates",
            choices=DuplicateMode.values,
            help="what to do with rows matching a record (default: the template's, else update)",
        )
        parser.add_argument(
            "--skip-invalid", action="store_true", help="import the valid rows, skip the others"
        )
        parser.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
        parser.add_argument(
            "--user", help="import as this user (owner of the records); default: the system"
        )
        parser.add_argument("--sheet", help="the worksheet of an XLSX file (default: the first)")
        parser.add_argument("--chunk-size", type=int, help="rows per transaction")

    def handle(self, *args, **opts) -> None:
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        actor = self._user(opts["user"])
        template, mapping = self._mapping(opts["mapping"], opts["entity"], actor)
        options = {"skip_invalid": opts["skip_invalid"]}
        if opts["sheet"]:
            options["sheet"] = opts["sheet"]
        if opts["chunk_size"]:
            options["chunk_size"] = opts["chunk_size"]
        try:
            with path.open("rb") as upload:
                job = services.import_create(
                    actor=actor,
                    upload=upload,
                    name=path.name,
                    entity=opts["entity"],
                    source=ImportSource.CLI,
                    template=template,
                    mapping=mapping,
                    duplicate_mode=opts["duplicates"],
                    options=options,
                )
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from None
        except PermissionDenied:
            raise CommandError("this user may not import") from None
        self.stdout.write(
            f"import #{job.pk}: {job.total_rows:,} rows, {job.format}"
            + (f" ({job.encoding}, delimiter {job.delimiter!r})" if job.encoding else "")
            + (f", recognised as a {job.preset} export" if job.preset else "")
        )
        self.stdout.write("mapping: " + ", ".join(f"{h} → {t}" for h, t in job.mapping.items()))
        bar = ProgressBar(self.stderr, enabled=self.stderr.isatty() and opts["verbosity"] > 0)
        if opts["dry_run"] or not opts["skip_invalid"]:
            try:
                report = check_in_process(actor=actor, job=job, bar=bar)
            except ValidationError as exc:
                services.import_cancel(actor=actor, job=job)
                raise CommandError(_messages(exc)) from None
            for line in check_lines(report):
                self.stdout.write(line)
            for line in bad_rows(job):
                self.stdout.write(line)
            if opts["dry_run"] or report.invalid or report.missing:
                # Nothing will be imported from this upload: its copy of the file goes; the
                # problems stay readable (`kreis imports errors N`).
                services.import_cancel(actor=actor, job=job)
            if report.missing:
                raise CommandError("map the required fields (--mapping)")
            if opts["dry_run"]:
                if report.invalid:
                    raise CommandError(f"{report.invalid:,} rows have problems", returncode=1)
                return
            if report.invalid:
                raise CommandError(
                    f"{report.invalid:,} rows have problems; nothing was imported. "
                    "Fix them, or import the others with --skip-invalid."
                )
        try:
            job = services.import_start(actor=actor, job=job, background=False)
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from None
        job = run_in_process(job, bar)
        for line in summary(job):
            self.stdout.write(line)
        if job.failed_count:
            self.stdout.write("rows not imported:")
            for line in bad_rows(job):
                self.stdout.write(line)
        if job.status != ImportStatus.DONE:
            raise CommandError(
                f"import #{job.pk} failed; `kreis imports resume {job.pk}` continues it, "
                f"`kreis imports undo {job.pk}` removes what it wrote"
            )

    def _user(self, username: str | None) -> User | None:
        if not username:
            return None
        user = User.objects.filter(username__iexact=username, is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {username!r}")
        return user

    def _mapping(
        self, value: str | None, entity: str, actor: User | None
    ) -> tuple[MappingTemplate | None, dict | None]:
        if not value:
            return None, None
        path = Path(value)
        if path.suffix.lower() == ".json" or path.is_file():
            try:
                mapping = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CommandError(f"cannot read the mapping {path}: {exc}") from None
            if not isinstance(mapping, dict):
                raise CommandError("the mapping file must hold an object {column: field}")
            return None, mapping
        templates = MappingTemplate.objects.filter(entity=entity, name__iexact=value)
        if actor is not None and not actor.is_admin:
            templates = templates.filter(Q(owner=actor) | Q(shared=True))
        template = templates.order_by("pk").first()
        if template is None:
            raise CommandError(f"no mapping template {value!r} for {entity}")
        return template, None
