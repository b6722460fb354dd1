"""What lead management tells the rest of Kreis (and its own parts) when it happens.

- ``form_submitted(sender=LeadForm, submission, visitor_uid)``: a web form was sent and its
  lead created or updated (``submission.lead``), inside the submission's transaction.
- ``lead_qualified(sender=Lead, lead)``: a lead's score reached the MQL threshold for the first
  time (``lead.mql_at`` was just set) — the handoff to sales starts here.
- ``consent_changed(sender=Consent, consent, kind)``: a consent was requested, confirmed,
  granted or withdrawn (``kind`` is a ``ConsentEventKind``).
"""

from django.dispatch import Signal

form_submitted = Signal()
lead_qualified = Signal()
consent_changed = Signal()
