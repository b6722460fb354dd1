"""Content offers follow web forms: the offers behind a form are handed out when it is sent."""

from __future__ import annotations

from django.dispatch import receiver

from kreis.marketing.offers import services
from kreis.marketing.signals import form_submitted


@receiver(form_submitted, dispatch_uid="offers.hand_out")
def hand_out_offers(sender, submission, **kwargs) -> None:
    if submission.lead_id is None and submission.party_id is None:
        return
    services.hand_out_for_submission(submission)
