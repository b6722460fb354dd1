"""``kreis backup``: every table and every uploaded file in one archive with checksums."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from django.core.management.base import BaseCommand

from kreis.migration.backup import backup_write


class Command(BaseCommand):
    help = (
        "Write all data (every table) and the uploaded files into one zip archive with a "
        "manifest: version, schema, row counts and SHA-256 checksums. Restore it with "
        "'kreis restore FILE' into a new, migrated instance."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", help="archive to write (default: kreis-backup-<UTC time>.zip here)"
        )

    def handle(self, *args, **opts):
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        path = Path(opts["output"] or f"kreis-backup-{stamp}.zip")
        started = time.perf_counter()
        log = (lambda line: self.stderr.write(line)) if opts["verbosity"] > 1 else None
        manifest = backup_write(path, log=log)
        rows = sum(t["rows"] for t in manifest["tables"].values())
        self.stdout.write(
            f"wrote {path} ({path.stat().st_size:,} bytes): {len(manifest['tables'])} tables, "
            f"{rows:,} rows, {len(manifest['media'])} files in "
            f"{time.perf_counter() - started:.1f} s"
        )
