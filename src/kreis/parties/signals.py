"""Events of parties that other parts (automation's webhooks) react to."""

from django.dispatch import Signal

# Sent when the bulk-create API has created parties on the fast path (no ``post_save`` per
# party there): ``ids`` of the new parties in the request's order, ``actor`` the user. Sent
# once the transaction commits, never for a rolled-back request. Imports send none: they end
# with one ``import_finished``.
parties_bulk_created = Signal()
