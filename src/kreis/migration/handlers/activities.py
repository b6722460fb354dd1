"""Import of activities (tasks, calls, meetings, notes, e-mails) onto the timeline, with the
rules of ``kreis.activities`` (``activities/bulk.py``).

Kind, direction and outcome by value or German/English label; dates and times in German or
English formats; the party by external ID, e-mail or name, the deal and lead by external
ID — among the records the importing user may see. Problems name row and column.
Duplicates: the external ID, in Kreis and in the file; update changes the given cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _

from kreis.activities import bulk
from kreis.activities.models import Activity, ActivityKind, CallOutcome, Direction
from kreis.leads.models import Lead
from kreis.migration.engine import (
    Action,
    Context,
    Handler,
    Prepared,
    RowProblem,
    SourceRow,
    register_handler,
)
from kreis.migration.handlers.lookups import (
    RowReader,
    actor_first_team,
    by_external_id,
    column_values,
    created_records,
    creations,
    external_ids_taken,
    match_external_ids,
    owner_and_team,
    parties_by_email,
    parties_by_name,
    resolve_party,
    updated_records,
)
from kreis.migration.models import ImportRecord
from kreis.parties.models import Party
from kreis.sales.models import Deal

TEXTS = {"subject": 200, "body": 100_000, "location": 200, "external_id": 100}
FIELD_TARGETS = {"party_id": "party", "deal_id": "deal_external_id", "lead_id": "lead_external_id"}


class ActivityHandler(Handler):
    entity = "activity"
    model = Activity

    def prepare(
        self, rows: Sequence[SourceRow], ctx: Context
    ) -> tuple[list[Prepared], list[RowProblem]]:
        refs = {
            "parties": {
                "by_id": by_external_id(
                    ctx,
                    Party.objects.filter(deleted_at__isnull=True),
                    column_values(rows, "party_external_id"),
                ),
                "by_email": parties_by_email(ctx, column_values(rows, "party_email")),
                "by_name": parties_by_name(ctx, column_values(rows, "party")),
            },
            "deals": by_external_id(
                ctx,
                Deal.objects.filter(deleted_at__isnull=True),
                column_values(rows, "deal_external_id"),
            ),
            "leads": by_external_id(
                ctx,
                Lead.objects.filter(deleted_at__isnull=True),
                column_values(rows, "lead_external_id"),
            ),
            "taken": external_ids_taken(ctx, Activity, column_values(rows, "external_id")),
        }
        readers, fields = [], []
        for row in rows:
            reader = RowReader(row, ctx)
            readers.append(reader)
            fields.append(self._fields(reader, refs))
        valid = [(r, f) for r, f in zip(readers, fields, strict=True) if f is not None]
        activities, errors = bulk.activity_rows_clean(
            actor=ctx.actor,
            rows=[{k: v for k, v in f.items() if k != "_given"} for _r, f in valid],
            actor_team=actor_first_team(ctx),
        )
        for error in errors:
            reader = valid[error["row"]][0]
            reader.problem(FIELD_TARGETS.get(error["field"], error["field"]), error["message"])
        prepared = [
            Prepared(row=reader.row, data={"activity": activity, "given": data["_given"]})
            for (reader, data), activity in zip(valid, activities, strict=True)
            if activity is not None and not reader.problems
        ]
        return prepared, [p for reader in readers for p in reader.problems]

    def _fields(self, reader: RowReader, refs: dict[str, Any]) -> dict | None:
        values = reader.row.values
        data: dict[str, Any] = {}
        for key, limit in TEXTS.items():
            if values.get(key):
                data[key] = reader.text(key, max_length=limit)
        if data.get("external_id") in refs["taken"]:
            reader.problem("external_id", _("Another activity has this external ID."))
        if not values.get("kind"):
            reader.problem("kind", _("This field is required."))
        data["kind"] = reader.choice("kind", ActivityKind)
        for key in ("occurred_at", "ends_at", "done_at"):
            moment = reader.datetime(key)
            if moment is not None:
                data[key] = moment
        if values.get("direction"):
            data["direction"] = reader.choice("direction", Direction)
        if values.get("outcome"):
            data["outcome"] = reader.choice("outcome", CallOutcome)
        minutes = reader.integer("duration_minutes")
        if minutes is not None:
            data["duration_minutes"] = minutes
        party = resolve_party(reader, **refs["parties"])
        if party is not None:
            data["party"] = party
        for key, table, name in (
            ("deal_external_id", refs["deals"], "deal"),
            ("lead_external_id", refs["leads"], "lead"),
        ):
            if values.get(key):
                data[name] = table.get(values[key])
                if data[name] is None:
                    reader.problem(
                        key,
                        _("No such record “%(value)s”, or you may not see it.")
                        % {"value": values[key]},
                    )
        owner, team, given = owner_and_team(reader)
        given_fields = set(data) - {"kind"}
        if given:
            data["owner"], data["team"] = owner, team
            given_fields |= {k for k in ("owner", "team") if data[k] is not None}
        if reader.problems:
            return None
        data["_given"] = given_fields
        return data

    def match(self, prepared: list[Prepared], ctx: Context) -> None:
        match_external_ids(
            prepared, ctx, Activity.objects.all(), lambda p: p.data["activity"].external_id
        )

    def write(self, prepared: list[Prepared], ctx: Context) -> list[ImportRecord]:
        new = creations(prepared, unique=lambda p: p.match_by == "external_id")
        records = created_records(
            ctx, new, bulk.activities_create([p.data["activity"] for p in new])
        )
        updates = [p for p in prepared if p.action in (Action.UPDATE, Action.MERGE)]
        if not updates:
            return records
        current = Activity.objects.in_bulk([p.existing_id for p in updates])
        changes = [
            (
                current[p.existing_id],
                {name: getattr(p.data["activity"], name) for name in p.data["given"]},
            )
            for p in updates
        ]
        changed = {activity.pk: before for activity, before in bulk.activities_update(changes)}
        return records + updated_records(ctx, updates, changed, Activity)


register_handler(ActivityHandler())
