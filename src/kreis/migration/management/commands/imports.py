"""``kreis imports list|show N|resume N|undo N|errors N``: the imports, from the command line.

Acts as the system (every import; administrators' rights). ``resume`` continues a failed
import, or one whose worker died, after its last committed chunk, here in this process.
"""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from kreis.migration import queries, services
from kreis.migration.management.commands._report import (
    ProgressBar,
    bad_rows,
    run_in_process,
    summary,
)
from kreis.migration.models import ImportJob, ImportStatus


class Command(BaseCommand):
    help = "List, show, resume or undo imports, or write an import's error rows as CSV."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="the latest imports")
        listing.add_argument("--limit", type=int, default=20)
        for name, text in (
            ("show", "an import's status, counts and bad rows (--json for all fields)"),
            ("resume", "continue a failed import, or one whose worker died"),
            ("undo", "revert everything the import wrote"),
            ("errors", "the rows not imported, as CSV with an Error column (stdout or --output)"),
        ):
            command = sub.add_parser(name, help=text)
            command.add_argument("id", type=int)
            if name == "show":
                command.add_argument("--json", action="store_true")
            if name == "errors":
                command.add_argument("--output", help="write to this file")

    def handle(self, *args, action: str, **opts) -> None:
        if action == "list":
            for job in ImportJob.objects.select_related("created_by")[: opts["limit"]]:
                who = job.created_by.username if job.created_by else "-"
                self.stdout.write(
                    f"#{job.pk:<6} {job.created_at:%Y-%m-%d %H:%M}  {job.status:<9} "
                    f"{job.entity:<12} {job.rows_done:>9,}/{job.total_rows:<9,} {who:<12} "
                    f"{job.original_name}"
                )
            return
        try:
            job = ImportJob.objects.get(pk=opts["id"])
        except ImportJob.DoesNotExist:
            raise CommandError(f"no import #{opts['id']}") from None
        try:
            getattr(self, f"_{action}")(job, opts)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None

    def _show(self, job: ImportJob, opts) -> None:
        if opts["json"]:
            progress = queries.import_progress(job)
            data = {
                "id": job.pk,
                "status": job.status,
                "entity": job.entity,
                "file": job.original_name,
                "rows": job.total_rows,
                "rows_done": job.rows_done,
                "created": job.created_count,
                "updated": job.updated_count,
                "merged": job.merged_count,
                "skipped": job.skipped_count,
                "failed": job.failed_count,
                "rows_per_second": progress.rows_per_second,
                "mapping": job.mapping,
                "duplicate_mode": job.duplicate_mode,
                "check": job.check_summary,
                "error": job.error,
            }
            self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False))
            return
        for line in summary(job):
            self.stdout.write(line)
        if services.import_is_orphaned(job):
            self.stdout.write(f"  its worker died: `kreis imports resume {job.pk}` continues it")
        for line in bad_rows(job):
            self.stdout.write(line)

    def _resume(self, job: ImportJob, opts) -> None:
        if not services.import_can_resume(job):
            raise CommandError(
                f"import #{job.pk} is {job.get_status_display().lower()}; only a failed import, "
                "or one whose worker died, resumes"
            )
        job = services.import_start(actor=None, job=job, background=False)
        bar = ProgressBar(self.stderr, enabled=self.stderr.isatty() and opts["verbosity"] > 0)
        job = run_in_process(job, bar)
        for line in summary(job):
            self.stdout.write(line)
        if job.status != ImportStatus.DONE:
            raise CommandError(f"import #{job.pk} failed again")

    def _undo(self, job: ImportJob, opts) -> None:
        job = services.import_undo(actor=None, job=job, background=False)
        self.stdout.write(f"import #{job.pk} undone")

    def _errors(self, job: ImportJob, opts) -> None:
        lines = services.import_errors_csv(job)
        if opts.get("output"):
            with open(opts["output"], "w", encoding="utf-8", newline="") as out:
                out.writelines(lines)
            self.stdout.write(f"{job.row_errors.values('row').distinct().count():,} rows written")
        else:
            for line in lines:
                self.stdout.write(line, ending="")
