"""``kreis restore FILE``: a backup archive into a new, migrated instance."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from kreis.migration.backup import BackupError, backup_restore, backup_verify


class Command(BaseCommand):
    help = (
        "Restore an archive written by 'kreis backup' into this instance, which must be "
        "migrated to the same version and hold no data (--force replaces what it holds). "
        "Every checksum is verified first; a damaged or altered archive changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the backup archive (.zip)")
        parser.add_argument(
            "--force", action="store_true", help="replace all data this instance holds"
        )
        parser.add_argument(
            "--verify-only", action="store_true", help="only check the archive's checksums"
        )

    def handle(self, *args, **opts):
        started = time.perf_counter()
        log = (lambda line: self.stderr.write(line)) if opts["verbosity"] > 1 else None
        try:
            if opts["verify_only"]:
                manifest = backup_verify(opts["file"])
                verb = "verified"
            else:
                manifest = backup_restore(opts["file"], force=opts["force"], log=log)
                verb = "restored"
        except (BackupError, OSError) as exc:
            raise CommandError(f"{opts['file']}: {exc}") from exc
        rows = sum(t["rows"] for t in manifest["tables"].values())
        self.stdout.write(
            f"{verb} {opts['file']}: {len(manifest['tables'])} tables, {rows:,} rows, "
            f"{len(manifest['media'])} files (backup of {manifest['created_at']}, Kreis "
            f"{manifest['kreis_version']}, {manifest['database']}) in "
            f"{time.perf_counter() - started:.1f} s"
        )
