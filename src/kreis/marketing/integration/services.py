"""What lead management carries over when a lead is converted (``leads.lead_convert``).

The lead's campaign memberships, campaign touches, form submissions and content downloads
belong to the person it became as well (they keep the lead, so the lead's page still shows
them): the person counts in the campaign, its touches credit the person's later deals, and
the party page shows what the person sent and downloaded. Consents and website visits are
carried over by their own parts (``consent.receivers``, ``tracking.receivers``).
"""

from __future__ import annotations

from django.db import transaction

from kreis.leads.models import Lead
from kreis.marketing.models import (
    CampaignMember,
    CampaignTouch,
    ContentDownload,
    FormSubmission,
)

RESPONSE_TIMES = (
    "sent_at",
    "opened_at",
    "clicked_at",
    "registered_at",
    "attended_at",
    "responded_at",
)


def _fold_member(lead_row: CampaignMember, person_row: CampaignMember) -> None:
    """The person was in the campaign already (a list, a segment): one member remains, the
    person's, with the lead and the earliest time of each response of both."""
    changes = {}
    for name in ("added_at", *RESPONSE_TIMES):
        theirs, mine = getattr(lead_row, name), getattr(person_row, name)
        if theirs is not None and (mine is None or theirs < mine):
            changes[name] = theirs
    if not person_row.note and lead_row.note:
        changes["note"] = lead_row.note
    lead_id = lead_row.lead_id
    lead_row.delete()
    if person_row.lead_id is None:
        changes["lead_id"] = lead_id
    if changes:
        CampaignMember.objects.filter(pk=person_row.pk).update(**changes)


@transaction.atomic
def conversion_carry_over(*, lead: Lead) -> dict[str, int]:
    """Give the converted lead's marketing records its person where they have none yet.
    Returns how many of each were given; running it again changes nothing."""
    person_id = lead.converted_person_id
    if person_id is None:
        return {}
    members = 0
    person_rows = {m.campaign_id: m for m in CampaignMember.objects.filter(party_id=person_id)}
    for row in CampaignMember.objects.filter(lead=lead, party__isnull=True).order_by("pk"):
        if row.campaign_id in person_rows:
            _fold_member(row, person_rows[row.campaign_id])
        else:
            CampaignMember.objects.filter(pk=row.pk).update(party_id=person_id)
        members += 1
    return {
        "members": members,
        "touches": CampaignTouch.objects.filter(lead=lead, party__isnull=True).update(
            party_id=person_id
        ),
        "submissions": FormSubmission.objects.filter(lead=lead, party__isnull=True).update(
            party_id=person_id
        ),
        "downloads": ContentDownload.objects.filter(lead=lead, party__isnull=True).update(
            party_id=person_id
        ),
    }
