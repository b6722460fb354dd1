"""Import of transactions (orders, invoices, returns) with their lines.

Each row of the file is a line; rows with the same external ID (or, without one, the same
number) are the lines of one transaction, whose header (kind, date, party, …) comes from its
first row. ``group`` keeps such rows in one chunk when they follow each other, so a
transaction is written, and undone, as a whole; rows of an order that turn up again after
other orders, in a later chunk, add their lines to the transaction written before.

Validation, amounts and costs are those of ``kreis.commerce`` (``bulk.transaction_drafts``):
the same rules as the API and the forms. If any row of a transaction has a problem, the
whole transaction is left out, its other rows saying which row is at fault.

Duplicates: the external ID (unique in Kreis), else the number together with the party.
Update replaces header and lines (the previous ones are kept for undo); a transaction whose
header and lines would stay the same counts as unchanged. "Create anyway" cannot give a
second transaction the same external ID: such rows are skipped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from kreis.commerce import bulk
from kreis.commerce.models import Product, Transaction, TransactionKind
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
    by_external_id,
    column_values,
    owner_and_team,
    parties_by_email,
    parties_by_name,
    resolve_party,
    visible,
)
from kreis.migration.models import ImportRecord, RecordAction
from kreis.parties.models import Party

HEADER_TEXTS = {"number": 40, "currency": 3, "channel": 40, "note": 500, "external_id": 100}
# Header cells that a later row of the same transaction must not contradict.
HEADER_KEYS = ("kind", "date", "party", "party_external_id", "party_email", "currency")
# Header cells a later part of a transaction (after other orders, in a later chunk) takes
# from its first part when its own are empty.
INHERITED = (*HEADER_KEYS, "number", "channel", "note", "owner", "team")
LABEL = Transaction._meta.label_lower


def _key(row: SourceRow) -> tuple[str, str] | None:
    external = row.values.get("external_id", "")
    if external:
        return ("external_id", external)
    number = row.values.get("number", "")
    return ("number", number) if number else None


class TransactionHandler(Handler):
    entity = "transaction"
    model = Transaction

    def group(self, row: SourceRow) -> Any:
        return _key(row)

    # --- prepare -----------------------------------------------------------------------

    def prepare(
        self, rows: Sequence[SourceRow], ctx: Context
    ) -> tuple[list[Prepared], list[RowProblem]]:
        groups: dict[Any, list[SourceRow]] = {}
        for row in rows:
            groups.setdefault(_key(row) or ("row", row.number), []).append(row)
        headers = ctx.cache.setdefault("transaction_headers", {})
        for key, members in groups.items():
            head = members[0].values
            if key in headers:
                for name, value in zip(INHERITED, headers[key], strict=True):
                    if value and not head.get(name):
                        head[name] = value
            elif key[0] != "row":
                headers[key] = tuple(head.get(name, "") for name in INHERITED)
        parties = {
            "by_id": by_external_id(
                ctx,
                Party.objects.filter(deleted_at__isnull=True),
                column_values(rows, "party_external_id"),
            ),
            "by_email": parties_by_email(ctx, column_values(rows, "party_email")),
            "by_name": parties_by_name(ctx, column_values(rows, "party")),
        }
        skus = sorted(column_values(rows, "line.sku"))
        products = {p.sku: p for p in Product.objects.filter(sku__in=skus)}
        problems: list[RowProblem] = []
        candidates: list[tuple[list[SourceRow], dict[str, Any]]] = []
        for members in groups.values():
            found, data = self._group(members, ctx, parties, products)
            if found:
                problems += _spread(found, members)
            else:
                candidates.append((members, data))
        drafts, errors = bulk.transaction_drafts(
            actor=ctx.actor, rows=[data for _m, data in candidates], external_ids_taken=False
        )
        failed: dict[int, list[RowProblem]] = defaultdict(list)
        for error in errors:
            members = candidates[error["row"]][0]
            failed[error["row"]].append(_problem(error, members, ctx))
        prepared = []
        for i, (members, _data) in enumerate(candidates):
            if i in failed:
                problems += _spread(failed[i], members)
                continue
            txn, lines = drafts[i]
            prepared.append(
                Prepared(
                    row=members[0],
                    data={
                        "txn": txn,
                        "lines": lines,
                        "rows": [r.number for r in members],
                        "key": _key(members[0]),
                    },
                )
            )
        return prepared, problems

    def _group(self, members, ctx, parties, products) -> tuple[list[RowProblem], dict]:
        """The commerce row of one transaction (header from the first row, a line per row)."""
        first = RowReader(members[0], ctx)
        data: dict[str, Any] = {}
        if not members[0].values.get("kind"):
            first.problem("kind", _("This field is required."))
        data["kind"] = first.choice("kind", TransactionKind)
        if not members[0].values.get("date"):
            first.problem("date", _("This field is required."))
        data["date"] = first.date("date")
        party = resolve_party(first, **parties)
        if not any(members[0].values.get(k) for k in ("party", "party_external_id", "party_email")):
            first.problem("party", _("A transaction needs a party."))
        data["party"] = party
        for key, limit in HEADER_TEXTS.items():
            if members[0].values.get(key):
                data[key] = first.text(key, max_length=limit)
        owner, team, given = owner_and_team(first)
        if given:
            data["owner"], data["team"] = owner, team
        readers = [first]
        data["lines"] = []
        for row in members:
            reader = first if row is members[0] else RowReader(row, ctx)
            if row is not members[0]:
                for key in HEADER_KEYS:
                    value = row.values.get(key, "")
                    if value and value != members[0].values.get(key, ""):
                        reader.problem(
                            key,
                            _("Differs from the first row of this transaction (row %(row)d).")
                            % {"row": members[0].number},
                        )
            line: dict[str, Any] = {}
            sku = row.values.get("line.sku", "")
            if sku:
                line["product"] = products.get(sku)
                if line["product"] is None:
                    reader.problem("line.sku", _("No product with SKU “%(sku)s”.") % {"sku": sku})
            if row.values.get("line.description"):
                line["description"] = reader.text("line.description", max_length=200)
            if not row.values.get("line.quantity"):
                reader.problem("line.quantity", _("This field is required."))
            for key in ("quantity", "unit_price", "discount"):
                number = reader.decimal(f"line.{key}")
                if number is not None:
                    line[key] = number
            data["lines"].append(line)
            if reader is not first:
                readers.append(reader)
        return [p for reader in readers for p in reader.problems], data

    # --- match -------------------------------------------------------------------------

    def match(self, prepared: list[Prepared], ctx: Context) -> None:
        external_ids = [p.data["key"][1] for p in prepared if _is(p, "external_id")]
        numbers = [p.data["key"][1] for p in prepared if _is(p, "number")]
        existing: dict[tuple, int] = {}
        if external_ids or numbers:
            query = Q(external_id__in=external_ids) | Q(
                number__in=numbers, external_id__isnull=True
            )
            rows = visible(ctx, Transaction.objects.filter(query, deleted_at__isnull=True))
            for pk, external_id, number, party_id in rows.values_list(
                "pk", "external_id", "number", "party_id"
            ):
                if external_id:
                    existing[("external_id", external_id)] = pk
                else:
                    existing.setdefault(("number", number, party_id), pk)
        written = ctx.cache.setdefault("transactions_written", {})
        for p in prepared:
            key = p.data["key"]
            p.existing_id = p.same_as_row = None
            p.match_by = ""
            p.data.pop("append_to", None)
            if key is None:
                continue
            if key in written and not ctx.dry_run:
                # Rows of an order written by an earlier chunk of this import: more lines.
                p.data["append_to"] = written[key]
                continue
            lookup = key if key[0] == "external_id" else (*key, p.data["txn"].party_id)
            p.existing_id = existing.get(lookup)
            p.match_by = key[0] if p.existing_id else ""
            first = ctx.seen.setdefault(("transaction", key), p.row.number)
            if p.existing_id is None and first != p.row.number:
                p.same_as_row, p.match_by = first, key[0]

    # --- write -------------------------------------------------------------------------

    def write(self, prepared: list[Prepared], ctx: Context) -> list[ImportRecord]:
        records: list[ImportRecord] = []
        written = ctx.cache.setdefault("transactions_written", {})
        appends = [p for p in prepared if "append_to" in p.data]
        if appends:
            bulk.transaction_lines_append([(p.data["append_to"], p.data["lines"]) for p in appends])
            for p in appends:
                p.object_id, p.action = p.data["append_to"], Action.UPDATE
        rest = [p for p in prepared if "append_to" not in p.data]
        new = []
        for p in rest:
            if p.action == Action.CREATE and (p.existing_id or p.same_as_row):
                p.action = Action.SKIP  # the key stays unique; "create anyway" cannot apply
            elif p.action == Action.CREATE:
                new.append(p)
        created = bulk.transactions_insert([(p.data["txn"], p.data["lines"]) for p in new])
        for p, txn in zip(new, created, strict=True):
            p.object_id = txn.pk
            if p.data["key"] is not None:
                written[p.data["key"]] = txn.pk
            records.append(
                ctx.record(p, model=LABEL, object_id=txn.pk, action=RecordAction.CREATED)
            )
        updates = [p for p in rest if p.action in (Action.UPDATE, Action.MERGE) and p.existing_id]
        if updates:
            before = bulk.transaction_snapshots(p.existing_id for p in updates)
            current = Transaction.objects.in_bulk([p.existing_id for p in updates])
            pairs = []
            for p in updates:
                p.object_id = p.existing_id
                written[p.data["key"]] = p.existing_id
                if bulk.draft_snapshot(p.data["txn"], p.data["lines"]) == before[p.existing_id]:
                    p.action = Action.SKIP
                    continue
                p.action = Action.UPDATE
                pairs.append((current[p.existing_id], p.data["txn"], p.data["lines"]))
                records.append(
                    ctx.record(
                        p,
                        model=LABEL,
                        object_id=p.existing_id,
                        action=RecordAction.UPDATED,
                        before=before[p.existing_id],
                    )
                )
            bulk.transactions_replace(pairs)
        return records

    def undo(self, records: Sequence[ImportRecord], ctx: Context) -> None:
        """Updated transactions get their header and lines back; created ones are deleted
        with their lines by id ranges."""
        bulk.transactions_restore(
            {r.object_id: r.before for r in records if r.action == RecordAction.UPDATED}
        )
        bulk.transactions_delete([r.object_id for r in records if r.action == RecordAction.CREATED])


def _is(p: Prepared, kind: str) -> bool:
    return p.data["key"] is not None and p.data["key"][0] == kind


def _problem(error: dict[str, Any], members: list[SourceRow], ctx: Context) -> RowProblem:
    """A problem of ``transaction_drafts`` (``lines.<i>.<field>`` or a header field) at the
    row and column it comes from."""
    field = error["field"]
    row = members[0]
    if field.startswith("lines."):
        _lines, index, name = field.split(".", 2)
        row = members[int(index)] if int(index) < len(members) else row
        target = "line.sku" if name == "product_id" else f"line.{name}"
    elif field == "party_id":
        given = [k for k in ("party_external_id", "party_email", "party") if row.values.get(k)]
        target = given[0] if given else "party"
    else:
        target = field
    return RowProblem(row.number, ctx.column(target), error["message"])


def _spread(found: list[RowProblem], members: list[SourceRow]) -> list[RowProblem]:
    """The problems, and for each other row of the transaction a note pointing at them."""
    faulty = {p.row for p in found}
    first = min(faulty)
    notes = [
        RowProblem(
            row.number,
            "",
            _("Another row of this transaction (row %(row)d) has a problem.") % {"row": first},
        )
        for row in members
        if row.number not in faulty
    ]
    return [*found, *notes]


register_handler(TransactionHandler())
