"""Content offers follow web forms: the download links handed out when a form was taken
(``hand_out_for_submission``, in the visitor's request) belong to the lead or contact the
processing of the submission found or created."""

from __future__ import annotations

from django.dispatch import receiver

from kreis.marketing.models import ContentDownload
from kreis.marketing.signals import form_submitted


@receiver(form_submitted, dispatch_uid="offers.owner_of_links")
def links_to_lead(sender, submission, **kwargs) -> None:
    if submission.lead_id is None and submission.party_id is None:
        return
    ContentDownload.objects.filter(submission=submission, lead=None, party=None).update(
        lead=submission.lead_id, party=submission.party_id
    )
