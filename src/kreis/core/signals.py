"""Events of the domain that outer layers (automation's webhooks) react to, sent by any app.

``records_bulk_created(sender=<model>, ids=[...], actor=<user or None>)``: the bulk-create
API wrote records on a fast path that sends no ``post_save`` per record (transactions, and
any other ``/bulk`` route that writes with ``bulk_create`` or raw inserts). ``ids`` are the
new records' primary keys in the request's order. Sent once the transaction commits, never
for a rolled-back request. Imports send none: they end with one ``import_finished``, so a
million-row import does not become a million webhook deliveries.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.dispatch import Signal

records_bulk_created = Signal()


def announce_bulk_created(*, model: type, ids: Sequence[int], actor=None) -> None:
    """Send ``records_bulk_created`` for these new records when the transaction commits."""
    if ids:
        ids = list(ids)
        transaction.on_commit(
            lambda: records_bulk_created.send(sender=model, ids=ids, actor=actor), robust=True
        )
