"""``kreis marketing segments list|count ID|snapshot [ID]|export ID|add-members ID --ids …|
remove-members ID --ids …``: segments in bulk.

- ``list``: every segment with its kind, live member count and owner.
- ``count ID``: the live member count.
- ``snapshot [ID]``: count one segment (or every one) now and keep today's snapshot, as the
  nightly job does.
- ``export ID --format csv|xlsx|json [--output FILE]``: the members with the party export's
  columns (``-`` or no ``--output``: standard output).
- ``add-members ID --ids 1,2,3`` / ``remove-members ID --ids …``: a static segment's list.
"""

from __future__ import annotations

import os
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.http import QueryDict

from kreis.core.exports import ExportFormatError, check_format, write_export
from kreis.core.models import Role, User
from kreis.marketing.models import Segment
from kreis.marketing.segments import queries, services
from kreis.parties.exports import party_export

FORMATS = ("csv", "xlsx", "json")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "segments", help="Segments: list, count, snapshot, export, static members"
    )
    actions = parser.add_subparsers(dest="segments_action", required=True)
    actions.add_parser("list", help="Every segment with its live member count")
    count = actions.add_parser("count", help="A segment's live member count")
    count.add_argument("id", type=int)
    snapshot = actions.add_parser("snapshot", help="Count now and keep today's snapshot")
    snapshot.add_argument("id", type=int, nargs="?", help="One segment (default: all)")
    export = actions.add_parser("export", help="The members as CSV, XLSX or JSON")
    export.add_argument("id", type=int)
    export.add_argument("--format", choices=FORMATS, default="csv")
    export.add_argument("--output", default="-", help="A file (default: standard output)")
    for name, text in (("add-members", "Put parties on"), ("remove-members", "Take parties off")):
        members = actions.add_parser(name, help=f"{text} a static segment's list")
        members.add_argument("id", type=int)
        members.add_argument(
            "--ids", required=True, help="Party ids, separated by commas or spaces"
        )
    parser.set_defaults(run=run)


def _segment(pk: int) -> Segment:
    segment = Segment.objects.filter(pk=pk).first()
    if segment is None:
        raise CommandError(f"There is no segment with the id {pk}.")
    return segment


def _ids(text: str) -> list[int]:
    parts = [p for p in text.replace(",", " ").split() if p]
    bad = [p for p in parts if not p.isdigit()]
    if bad or not parts:
        raise CommandError(f"--ids: not party ids: {' '.join(bad) or '(none)'}")
    return [int(p) for p in parts]


def _everything() -> User:
    """The command line sees every party, as an administrator (an unsaved user)."""
    return User(username="kreis-marketing", role=Role.ADMIN, is_active=True, is_superuser=True)


def run(command, options) -> None:
    out = command.stdout
    action = options["segments_action"]
    if action == "list":
        for segment in Segment.objects.select_related("owner").order_by("name", "pk"):
            out.write(
                f"{segment.pk}\t{segment.name}\t{segment.kind}\t"
                f"{queries.count_members(segment)}\t{segment.owner or '-'}"
            )
        return
    if action == "count":
        out.write(str(queries.count_members(_segment(options["id"]))))
        return
    if action == "snapshot":
        if options["id"]:
            segment = _segment(options["id"])
            out.write(f"{segment.pk}\t{segment.name}\t{services.refresh_count(segment)}")
        else:
            out.write(f"{services.snapshot_all()} segments counted")
        return
    segment = _segment(options["id"])
    try:
        if action == "export":
            _export(segment, options)
        elif action == "add-members":
            added = services.members_add(
                actor=None, segment=segment, party_ids=_ids(options["ids"])
            )
            out.write(f"{added} added, {segment.member_count} members")
        else:
            removed = services.members_remove(
                actor=None, segment=segment, party_ids=_ids(options["ids"])
            )
            out.write(f"{removed} removed, {segment.member_count} members")
    except ValidationError as exc:
        raise CommandError(" ".join(exc.messages)) from exc


def _export(segment: Segment, options) -> None:
    query = QueryDict(mutable=True)
    query["segment"] = str(segment.pk)
    export = party_export(user=_everything(), query=query)
    export.name = f"kreis-segment-{segment.pk}"
    try:
        check_format(export, options["format"])
    except ExportFormatError as exc:
        raise CommandError(str(exc)) from exc
    if options["output"] == "-":
        write_export(export, options["format"], sys.stdout.buffer)
        return
    partial = options["output"] + ".part"
    try:
        with open(partial, "wb") as stream:
            write_export(export, options["format"], stream)
        os.replace(partial, options["output"])
    finally:
        if os.path.exists(partial):
            os.remove(partial)
