"""Import of leads, with the lead rules of ``kreis.leads`` (``leads/bulk.py``).

Problems name row and column: a bad e-mail address or phone number, an unknown status,
owner or team, a bad number or date, a custom field value. Duplicates are matched as the
lead form's duplicate warning matches them — the same external ID, else normalised e-mail,
else phone, else name and company — against the leads the importing user may see, and
against earlier rows of the file. Update changes only the columns that have a value in the
row. "Create anyway" never gives a second lead the same external ID (skipped).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext as _

from kreis.leads import bulk
from kreis.leads.models import DisqualifyReason, Lead, LeadStatus
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
    column_values,
    created_records,
    creations,
    external_ids_taken,
    updated_records,
)
from kreis.migration.models import ImportRecord, RecordAction

TEXTS = {
    "salutation": 40,
    "first_name": 100,
    "last_name": 100,
    "company": 200,
    "position": 120,
    "email": 254,
    "phone": 40,
    "website": 200,
    "source": 100,
    "authority": 200,
    "need": 20000,
    "disqualify_note": 300,
    "notes": 20000,
    "external_id": 100,
}


class LeadHandler(Handler):
    entity = "lead"
    model = Lead

    def prepare(
        self, rows: Sequence[SourceRow], ctx: Context
    ) -> tuple[list[Prepared], list[RowProblem]]:
        problems: list[RowProblem] = []
        readers, fields = [], []
        taken = external_ids_taken(ctx, Lead, column_values(rows, "external_id"))
        for row in rows:
            reader = RowReader(row, ctx)
            data = self._fields(reader, taken)
            readers.append(reader)
            fields.append(data)
        leads, errors = bulk.lead_rows_clean(
            [{k: v for k, v in f.items() if not k.startswith("_")} for f in fields if f]
        )
        valid = [(r, f) for r, f in zip(readers, fields, strict=True) if f]
        for error in errors:
            reader = valid[error["row"]][0]
            reader.problem(error["field"], error["message"])
        prepared: list[Prepared] = []
        cleaned = iter(leads)
        for reader, data in zip(readers, fields, strict=True):
            lead = next(cleaned) if data else None
            if reader.problems or lead is None:
                problems += reader.problems
                continue
            prepared.append(
                Prepared(
                    row=reader.row,
                    data={"lead": lead, "given": data["_given"], "tags": data["_tags"]},
                )
            )
        return prepared, problems

    def _fields(self, reader: RowReader, taken: set[str]) -> dict | None:
        """The row as lead fields (with ``_given``: the fields its cells set, ``_tags``)."""
        values = reader.row.values
        data: dict = {}
        for key, limit in TEXTS.items():
            if values.get(key):
                data[key] = reader.text(key, max_length=limit)
        full = values.get("full_name", "")
        if full and not values.get("last_name"):
            first, _sep, last = full.rpartition(" ")
            data["first_name"], data["last_name"] = first.strip()[:100], last[:100]
        if not data.get("last_name"):
            reader.problem(
                "last_name" if "last_name" in reader.ctx.mapping.values() else "full_name",
                _("A lead needs a last name."),
            )
        if data.get("external_id") in taken:
            reader.problem("external_id", _("Another lead has this external ID."))
        if values.get("status"):
            data["status"] = reader.choice("status", LeadStatus)
        if values.get("disqualify_reason"):
            data["disqualify_reason"] = reader.choice("disqualify_reason", DisqualifyReason)
        budget = reader.decimal("budget")
        if budget is not None:
            data["budget"] = budget
        timeline = reader.date("timeline")
        if timeline is not None:
            data["timeline"] = timeline
        return assigned_row(reader, data, given=set(data))

    def match(self, prepared: list[Prepared], ctx: Context) -> None:
        matches = bulk.match_leads(user=ctx.actor, leads=[p.data["lead"] for p in prepared])
        for p, found in zip(prepared, matches, strict=True):
            p.existing_id = found.lead_id if found else None
            p.match_by = found.by if found else ""
            p.same_as_row = None
            for key in bulk.lead_keys(p.data["lead"]):
                first = ctx.seen.setdefault(("lead", *key), p.row.number)
                if p.existing_id is None and p.same_as_row is None and first != p.row.number:
                    p.same_as_row, p.match_by = first, key[0]

    def write(self, prepared: list[Prepared], ctx: Context) -> list[ImportRecord]:
        new = creations(prepared, unique=lambda p: p.match_by == "external_id")
        created = bulk.leads_create(
            actor=ctx.actor,
            leads=[p.data["lead"] for p in new],
            tags=[p.data["tags"] or () for p in new],
        )
        records = created_records(ctx, new, created)
        updates = [p for p in prepared if p.action in (Action.UPDATE, Action.MERGE)]
        if not updates:
            return records
        current = Lead.objects.in_bulk([p.existing_id for p in updates])
        changes = [
            (
                current[p.existing_id],
                {name: getattr(p.data["lead"], name) for name in p.data["given"]},
                p.data["tags"],
            )
            for p in updates
        ]
        changed = {
            lead.pk: before for lead, before in bulk.leads_update(actor=ctx.actor, changes=changes)
        }
        return records + updated_records(ctx, updates, changed, Lead)

    def undo(self, records: Sequence[ImportRecord], ctx: Context) -> None:
        """Updated leads get their values and tags back; created ones are deleted with their
        search entries."""
        bulk.leads_restore(
            {r.object_id: r.before for r in records if r.action == RecordAction.UPDATED},
            actor=ctx.actor,
        )
        bulk.leads_delete([r.object_id for r in records if r.action == RecordAction.CREATED])


register_handler(LeadHandler())
