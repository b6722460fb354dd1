"""Many parties at once: the fast write path of the bulk-create API and of imports.

``party_create`` writes one party in about 27 statements; a thousand persons took ~8 s. Here
the same rules run over a whole batch, in two steps:

1. ``party_rows_clean`` validates and normalises the rows (the rules of ``party_create``:
   names, VAT ID, IBAN, field lengths, e-mail and phone normalised, addresses, roles, custom
   fields, owner and team assignment, organisations to work for) with a fixed number of
   reads per batch and no writes. Problems come back per row (``RowError``: row index, field,
   message), so an import can skip bad rows and the API can refuse the whole request.
2. ``party_drafts_create`` inserts the valid rows with one INSERT (or COPY) per table — parties,
   contact points, addresses, roles, tags, employments, their history ("created", by the
   actor, with the tags as ``party_create`` records them) and the search index entries.

``party_drafts_update`` (``update``) is the upsert path (changed fields only; the previous
values come back for undo, ``party_updates_restore`` writes them back), and
``match_parties`` (``match``) finds the existing party of each row by the duplicate
warning's rules in a few queries per batch.

Everything runs inside the caller's transaction (the API's request, an import's chunk);
``parties_bulk_create_all_or_nothing`` is the API's wrapper. This package imports nothing of
the outer layers (``kreis.migration`` calls it, never the other way round).
"""

from kreis.parties.bulk.create import (
    NOT_FOUND,
    BulkCreated,
    PartyDraft,
    RowError,
    errors_as_validation_error,
    normalized_contact,
    organizations_for_drafts_create,
    parties_bulk_create,
    parties_bulk_create_all_or_nothing,
    party_drafts_create,
    party_rows_clean,
)
from kreis.parties.bulk.match import PartyMatch, match_parties
from kreis.parties.bulk.update import PartyUpdated, party_drafts_update, party_updates_restore

__all__ = [
    "NOT_FOUND",
    "BulkCreated",
    "PartyDraft",
    "PartyMatch",
    "PartyUpdated",
    "RowError",
    "errors_as_validation_error",
    "match_parties",
    "normalized_contact",
    "organizations_for_drafts_create",
    "parties_bulk_create",
    "parties_bulk_create_all_or_nothing",
    "party_drafts_create",
    "party_drafts_update",
    "party_rows_clean",
    "party_updates_restore",
]
