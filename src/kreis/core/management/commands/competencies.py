"""``kreis competencies export|import FILE [--dry-run]|list``: sales competencies in bulk.

- ``export [--output FILE]``: every user's levels as CSV (``username,kind,key,name,level``);
  cells a spreadsheet would run as a formula are defused with a leading apostrophe.
- ``import FILE [--dry-run]``: levels from such a CSV (``-`` reads standard input); a
  competency not in the catalogue yet is created; an empty level removes one. All or nothing:
  any bad line and nothing is written; the errors name the lines.
- ``list``: the catalogue with the number of holders.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from kreis.core.competencies import services
from kreis.core.competencies.models import Competency


class Command(BaseCommand):
    help = "Sales competencies in bulk: export and import levels as CSV, list the catalogue"

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        export = actions.add_parser("export", help="Every user's levels (CSV)")
        export.add_argument("--output", default="-", help="A file (default: standard output)")
        imp = actions.add_parser("import", help="Levels from a CSV file, all or nothing")
        imp.add_argument("file", help="The CSV file (- for standard input)")
        imp.add_argument("--dry-run", action="store_true", help="Check only, write nothing")
        actions.add_parser("list", help="The catalogue with the number of holders")

    def handle(self, *args, **options) -> None:
        action = options["action"]
        if action == "export":
            rows = services.competencies_export_rows()
            if options["output"] == "-":
                writer = csv.writer(self.stdout, lineterminator="\n")
                writer.writerows(rows)
            else:
                with Path(options["output"]).open("w", newline="", encoding="utf-8") as handle:
                    csv.writer(handle).writerows(rows)
                self.stderr.write(f"{len(rows) - 1} levels written to {options['output']}")
            return
        if action == "list":
            for c in Competency.objects.annotate(n=Count("holders")).order_by("kind", "name"):
                state = "" if c.is_active else "\tinactive"
                self.stdout.write(f"{c.pk}\t{c.kind}\t{c.key}\t{c.name}\t{c.n}{state}")
            return
        path = options["file"]
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        result = services.competencies_import(actor=None, text=text, dry_run=options["dry_run"])
        if result.errors:
            for error in result.errors:
                self.stderr.write(error)
            raise CommandError(f"{len(result.errors)} error(s); nothing was imported.")
        verb = "would set" if options["dry_run"] else "set"
        self.stdout.write(
            f"{result.rows} rows: {verb} {result.levels} levels, "
            f"{result.created_competencies} new competencies"
        )
