"""Import of products: the catalogue by SKU (importing again updates the same products).

Rows are validated by the catalogue's own rules (``kreis.commerce.services``); a SKU already
in the catalogue, or earlier in the file, is a duplicate. Changing the catalogue needs the
right to manage products (administrators and sales managers).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext as _

from kreis.commerce import bulk
from kreis.commerce.models import Product
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
    created_records,
    creations,
    updated_records,
)
from kreis.migration.models import ImportRecord

TEXTS = {"unit": 20, "currency": 3, "category": 100, "description": 20000}


class ProductHandler(Handler):
    entity = "product"
    model = Product

    def prepare(
        self, rows: Sequence[SourceRow], ctx: Context
    ) -> tuple[list[Prepared], list[RowProblem]]:
        actor = ctx.actor
        if actor is not None and not actor.has_perm("commerce.manage_products"):
            message = _("You may not change the product catalogue.")
            return [], [RowProblem(row.number, "", message) for row in rows]
        problems: list[RowProblem] = []
        candidates: list[tuple[SourceRow, dict]] = []
        for row in rows:
            reader = RowReader(row, ctx)
            data: dict = {
                "sku": reader.text("sku", max_length=40, required=True),
                "name": reader.text("name", max_length=200, required=True),
            }
            if not row.values.get("list_price"):
                reader.problem("list_price", _("This field is required."))
            for key in ("list_price", "unit_cost"):
                number = reader.decimal(key)
                if number is not None:
                    data[key] = number
            for key, limit in TEXTS.items():
                if row.values.get(key):
                    data[key] = reader.text(key, max_length=limit)
            active = reader.boolean("is_active")
            if active is not None:
                data["is_active"] = active
            if reader.problems:
                problems += reader.problems
            else:
                candidates.append((row, data))
        products, errors = bulk.product_rows_clean(actor=actor, rows=[d for _r, d in candidates])
        bad = set()
        for error in errors:
            row = candidates[error["row"]][0]
            bad.add(row.number)
            problems.append(RowProblem(row.number, ctx.column(error["field"]), error["message"]))
        prepared = [
            Prepared(row=row, data={"fields": data, "product": product})
            for (row, data), product in zip(candidates, products, strict=True)
            if row.number not in bad
        ]
        return prepared, problems

    def match(self, prepared: list[Prepared], ctx: Context) -> None:
        skus = [p.data["product"].sku for p in prepared]
        existing = dict(Product.objects.filter(sku__in=skus).values_list("sku", "pk"))
        for p in prepared:
            sku = p.data["product"].sku
            p.existing_id = existing.get(sku)
            p.match_by = "sku" if p.existing_id else ""
            first = ctx.seen.setdefault(("sku", sku), p.row.number)
            if p.existing_id is None and first != p.row.number:
                p.same_as_row, p.match_by = first, "sku"

    def write(self, prepared: list[Prepared], ctx: Context) -> list[ImportRecord]:
        new = creations(prepared, unique=lambda p: True)  # the SKU is unique
        created = bulk.products_create(actor=ctx.actor, products=[p.data["product"] for p in new])
        records = created_records(ctx, new, created)
        updates = [p for p in prepared if p.action in (Action.UPDATE, Action.MERGE)]
        if not updates:
            return records
        current = Product.objects.in_bulk([p.existing_id for p in updates])
        # The validated product holds the normalised values (currency upper case …).
        changes = [
            (
                current[p.existing_id],
                {k: getattr(p.data["product"], k) for k in p.data["fields"] if k != "sku"},
            )
            for p in updates
        ]
        changed = {
            product.pk: before
            for product, before in bulk.products_update(actor=ctx.actor, changes=changes)
        }
        return records + updated_records(ctx, updates, changed, Product)


register_handler(ProductHandler())
