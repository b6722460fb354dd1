"""``kreis export``: a record type (or its list, filtered) as CSV, XLSX, JSON or vCard."""

from __future__ import annotations

import os
import sys
import time

from django.core.exceptions import BadRequest
from django.core.management.base import BaseCommand, CommandError

from kreis.core.exports import (
    FORMATS,
    VCARD_VERSIONS,
    ExportFormatError,
    check_format,
    write_export,
)
from kreis.core.models import Role, User
from kreis.migration.exports import EXPORT_TYPES, record_export


def _everything() -> User:
    """The command line runs with the machine's rights: every record, as an administrator
    sees it. An unsaved user, so nothing is written and no account needs to exist."""
    return User(username="kreis-export", role=Role.ADMIN, is_active=True, is_superuser=True)


class Command(BaseCommand):
    help = (
        "Export every record of a type as CSV, XLSX, JSON or vCard (persons), streamed to a "
        "file. List filters as on the list pages: --filter q=Berlin --filter sort=-created."
    )

    def add_arguments(self, parser):
        parser.add_argument("--type", required=True, choices=list(EXPORT_TYPES))
        parser.add_argument("--format", default="csv", choices=list(FORMATS))
        parser.add_argument("--output", required=True, help="file to write ('-' for stdout)")
        parser.add_argument(
            "--as", dest="username", help="export what this user sees (default: everything)"
        )
        parser.add_argument(
            "--filter",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="a list filter, e.g. q=Berlin, tag=VIP, owner=12, sort=-created, cf_region=Nord",
        )
        parser.add_argument("--vcard-version", default="4.0", choices=VCARD_VERSIONS)

    def handle(self, *args, **opts):
        user = _everything()
        if opts["username"]:
            user = User.objects.filter(username=opts["username"], is_active=True).first()
            if user is None:
                raise CommandError(f"no active user {opts['username']!r}")
        query = {}
        for item in opts["filter"]:
            name, sep, value = item.partition("=")
            if not sep or not name:
                raise CommandError(f"--filter {item!r}: expected NAME=VALUE")
            query[name.strip()] = value
        started = time.perf_counter()
        try:
            export = record_export(user=user, type_=opts["type"], query=query)
            check_format(export, opts["format"])
        except (ExportFormatError, BadRequest) as exc:
            raise CommandError(str(exc)) from exc
        if opts["output"] == "-":
            write_export(export, opts["format"], sys.stdout.buffer, **self._v(opts))
            return
        partial = opts["output"] + ".part"
        try:
            with open(partial, "wb") as out:
                write_export(export, opts["format"], out, **self._v(opts))
            os.replace(partial, opts["output"])  # a file that exists is complete
        finally:
            if os.path.exists(partial):
                os.remove(partial)
        size = os.path.getsize(opts["output"])
        self.stderr.write(
            f"wrote {opts['output']} ({size:,} bytes) in {time.perf_counter() - started:.1f} s"
        )

    @staticmethod
    def _v(opts) -> dict:
        return {"vcard_version": opts["vcard_version"]}
