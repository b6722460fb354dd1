"""Import of deals, with the deal rules of ``kreis.sales`` (``sales/bulk.py``).

Pipeline and stage are found by name in German or English (``Gewonnen`` is the shipped
``Won``); without a pipeline the stage is looked up in the default pipeline, then in any
pipeline where the name is unique; without a stage a deal starts in its pipeline's first open
stage. The organisation is found by external ID or name, the contact person by external ID,
e-mail or full name — among the parties the importing user may see. Problems name row and
column (unknown stage, pipeline, lost reason, owner or party; a bad number or date).
Duplicates: the external ID, in Kreis and in the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _

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
    assigned_row,
    by_external_id,
    column_values,
    created_records,
    creations,
    external_ids_taken,
    match_external_ids,
    parties_by_email,
    parties_by_name,
    resolve_party,
    updated_records,
)
from kreis.migration.models import ImportRecord, RecordAction
from kreis.parties.models import Party, PartyKind
from kreis.sales import bulk
from kreis.sales.models import Deal, LostReason
from kreis.sales.services import default_pipeline

TEXTS = {"name": 200, "currency": 3, "source": 100, "notes": 20000, "lost_note": 300}
# Domain field → the target whose column shows it.
FIELD_TARGETS = {
    "stage_id": "stage",
    "lost_reason_id": "lost_reason",
    "organization_id": "organization",
    "contact_id": "contact",
}


class DealHandler(Handler):
    entity = "deal"
    model = Deal

    def _tables(self, ctx: Context) -> dict[str, Any]:
        tables = ctx.cache.get("deal_tables")
        if tables is None:
            pipelines, stages = bulk.stages_by_name()
            reasons = {r.name.casefold(): r for r in LostReason.objects.filter(is_active=True)}
            tables = {
                "pipelines": pipelines,
                "stages": stages,
                "reasons": reasons,
                "default": default_pipeline(),
            }
            ctx.cache["deal_tables"] = tables
        return tables

    def prepare(
        self, rows: Sequence[SourceRow], ctx: Context
    ) -> tuple[list[Prepared], list[RowProblem]]:
        tables = self._tables(ctx)
        alive = Party.objects.filter(deleted_at__isnull=True)
        organizations = {
            "by_id": by_external_id(ctx, alive, column_values(rows, "organization_external_id")),
            "by_email": {},
            "by_name": parties_by_name(
                ctx, column_values(rows, "organization"), kind=PartyKind.ORGANIZATION
            ),
        }
        contacts = {
            "by_id": by_external_id(ctx, alive, column_values(rows, "contact_external_id")),
            "by_email": parties_by_email(ctx, column_values(rows, "contact_email")),
            "by_name": parties_by_name(ctx, column_values(rows, "contact"), kind=PartyKind.PERSON),
        }
        taken = external_ids_taken(ctx, Deal, column_values(rows, "external_id"))
        readers, fields = [], []
        for row in rows:
            reader = RowReader(row, ctx)
            readers.append(reader)
            fields.append(self._fields(reader, tables, organizations, contacts, taken))
        valid = [(r, f) for r, f in zip(readers, fields, strict=True) if f is not None]
        deals, errors = bulk.deal_rows_clean(
            actor=ctx.actor,
            rows=[{k: v for k, v in f.items() if not k.startswith("_")} for _r, f in valid],
            default=tables["default"],
        )
        for error in errors:
            reader = valid[error["row"]][0]
            reader.problem(FIELD_TARGETS.get(error["field"], error["field"]), error["message"])
        prepared, problems = [], []
        for (reader, data), deal in zip(valid, deals, strict=True):
            if deal is not None and not reader.problems:
                prepared.append(
                    Prepared(
                        row=reader.row,
                        data={"deal": deal, "given": data["_given"], "tags": data["_tags"]},
                    )
                )
        for reader in readers:
            problems += reader.problems
        return prepared, problems

    def _fields(self, reader, tables, organizations, contacts, taken) -> dict | None:
        values = reader.row.values
        data: dict[str, Any] = {}
        for key, limit in TEXTS.items():
            if values.get(key):
                data[key] = reader.text(key, max_length=limit)
        if not data.get("name"):
            reader.problem("name", _("This field is required."))
        external = reader.text("external_id", max_length=100)
        if external:
            data["external_id"] = external
            if external in taken:
                reader.problem("external_id", _("Another deal has this external ID."))
        for key in ("amount",):
            number = reader.decimal(key)
            if number is not None:
                data[key] = number
        expected = reader.date("expected_close")
        if expected is not None:
            data["expected_close"] = expected
        closed = reader.datetime("closed_at")
        if closed is not None:
            data["closed_at"] = closed
        self._stage(reader, tables, data)
        reason = values.get("lost_reason", "")
        if reason:
            data["lost_reason"] = tables["reasons"].get(reason.casefold())
            if data["lost_reason"] is None:
                reader.problem("lost_reason", _("No lost reason “%(value)s”.") % {"value": reason})
        organization = resolve_party(
            reader, prefix="organization", kind=PartyKind.ORGANIZATION, **organizations
        )
        if organization is not None:
            data["organization"] = organization
        contact = resolve_party(reader, prefix="contact", kind=PartyKind.PERSON, **contacts)
        if contact is not None:
            data["contact"] = contact
        return assigned_row(reader, data, given=set(data) - {"closed_at", "lost_note"})

    def _stage(self, reader: RowReader, tables: dict, data: dict) -> None:
        """Pipeline and stage by name (German or English)."""
        pipeline_name = reader.row.values.get("pipeline", "")
        stage_name = reader.row.values.get("stage", "")
        pipeline = None
        if pipeline_name:
            pipeline = tables["pipelines"].get(pipeline_name.casefold())
            if pipeline is None:
                reader.problem("pipeline", _("No pipeline “%(value)s”.") % {"value": pipeline_name})
                return
            data["pipeline"] = pipeline
        if not stage_name:
            return
        key = stage_name.casefold()
        if pipeline is not None:
            stage = tables["stages"].get(pipeline.pk, {}).get(key)
        else:
            stage = tables["stages"].get(tables["default"].pk, {}).get(key)
            if stage is None:
                found = [t[key] for t in tables["stages"].values() if t.get(key) is not None]
                stage = found[0] if len(found) == 1 else None
        if stage is None:
            reader.problem(
                "stage", _("No stage “%(value)s” in this pipeline.") % {"value": stage_name}
            )
            return
        data["stage"] = stage

    def match(self, prepared: list[Prepared], ctx: Context) -> None:
        match_external_ids(prepared, ctx, Deal.objects.all(), lambda p: p.data["deal"].external_id)

    def write(self, prepared: list[Prepared], ctx: Context) -> list[ImportRecord]:
        new = creations(prepared, unique=lambda p: p.match_by == "external_id")
        created = bulk.deals_create(
            actor=ctx.actor,
            deals=[p.data["deal"] for p in new],
            tags=[p.data["tags"] or () for p in new],
        )
        records = created_records(ctx, new, created)
        updates = [p for p in prepared if p.action in (Action.UPDATE, Action.MERGE)]
        if not updates:
            return records
        current = Deal.objects.select_related("stage").in_bulk([p.existing_id for p in updates])
        changes = []
        for p in updates:
            draft = p.data["deal"]
            given = set(p.data["given"])
            values = {name: getattr(draft, name) for name in given - {"pipeline", "stage"}}
            if "stage" in given or "pipeline" in given:
                values["stage"] = draft.stage
                values["lost_reason"] = draft.lost_reason
                values["lost_note"] = draft.lost_note
            changes.append((current[p.existing_id], values, p.data["tags"]))
        changed = {
            deal.pk: before for deal, before in bulk.deals_update(actor=ctx.actor, changes=changes)
        }
        return records + updated_records(ctx, updates, changed, Deal)

    def undo(self, records: Sequence[ImportRecord], ctx: Context) -> None:
        """Updated deals get their values, stage and tags back; created ones are deleted
        with their stage changes and search entries."""
        bulk.deals_restore(
            {r.object_id: r.before for r in records if r.action == RecordAction.UPDATED},
            actor=ctx.actor,
        )
        bulk.deals_delete([r.object_id for r in records if r.action == RecordAction.CREATED])


register_handler(DealHandler())
