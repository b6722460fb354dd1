"""``kreis marketing relationship-types list|apply [--type ID] [--dry-run]|runs|undo RUN``.

- ``list``: every relationship type with its segment, priority, ownership and customers.
- ``apply``: set owner and team of the typed segments' members now, as the nightly job does
  (one history row per changed party, by no user); ``--type ID`` writes only the members whose
  type that is; ``--dry-run`` counts what would change and writes nothing. Progress goes to
  standard error.
- ``runs``: the applications that changed customers, newest first, and whether undone.
- ``undo RUN``: give the customers of that application their previous type, owner and team
  back (in one transaction); customers changed since, or whose previous type has been
  deleted since, are skipped and counted (each reason on its own).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db.models import Count

from kreis.marketing.relationships import services
from kreis.marketing.relationships.models import RelationshipApplyRun, RelationshipType


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "relationship-types", help="Relationship types: list, apply to the segments' members"
    )
    actions = parser.add_subparsers(dest="relationship_action", required=True)
    actions.add_parser("list", help="Every relationship type, highest priority first")
    apply = actions.add_parser("apply", help="Set owner and team of the segments' members now")
    apply.add_argument("--type", type=int, dest="type_id", help="Only the members of this type")
    apply.add_argument("--dry-run", action="store_true", help="Count, write nothing")
    actions.add_parser("runs", help="The applications that changed customers, newest first")
    undo = actions.add_parser("undo", help="Undo an application (customers changed since stay)")
    undo.add_argument("run_id", type=int, help="The application's id (see runs)")
    parser.set_defaults(run=run)


def run(command, options) -> None:
    out = command.stdout
    if options["relationship_action"] == "list":
        types = (
            RelationshipType.objects.select_related("segment", "owner", "team")
            .annotate(n=Count("party_links"))
            .order_by("-priority", "pk")
        )
        for t in types:
            who = t.owner.username if t.owner else (t.team.name if t.team else "-")
            out.write(
                f"{t.pk}\t{t.name_en}\t{t.segment.name}\t{t.priority}\t{t.ownership}\t{who}\t{t.n}"
            )
        return
    if options["relationship_action"] == "runs":
        for r in RelationshipApplyRun.objects.select_related("started_by").order_by("-pk")[:50]:
            who = r.started_by.username if r.started_by else "-"
            state = f"undone {r.undone_at:%Y-%m-%d %H:%M}" if r.undone_at else "-"
            out.write(f"{r.pk}\t{r.applied_at:%Y-%m-%d %H:%M}\t{who}\t{r.changed}\t{state}")
        return
    if options["relationship_action"] == "undo":
        run = RelationshipApplyRun.objects.filter(pk=options["run_id"]).first()
        if run is None:
            raise CommandError(f"There is no application with the id {options['run_id']}.")
        try:
            undone = services.relationship_apply_undo(actor=None, run=run)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        deleted = undone.skipped_type_deleted
        out.write(
            f"{undone.restored} restored, {undone.skipped} skipped "
            f"({undone.skipped - deleted} changed since, {deleted} previous type deleted)"
        )
        return
    only = None
    if options.get("type_id") is not None:
        only = RelationshipType.objects.filter(pk=options["type_id"], is_active=True).first()
        if only is None:
            raise CommandError(
                f"There is no active relationship type with the id {options['type_id']}."
            )

    def progress(done: int, total: int) -> None:
        if total:
            command.stderr.write(f"\r{done}/{total}", ending="")

    result = services.relationship_types_apply(
        actor=None, only=only, dry_run=options["dry_run"], progress=progress
    )
    command.stderr.write("")
    verb = "would change" if options["dry_run"] else "changed"
    out.write(f"{result.members} customers in typed segments, {result.changed} {verb}")
    for type_id, n in sorted(result.per_type.items()):
        out.write(f"  type {type_id}: {n}")
