"""How lead management hooks into the rest of Kreis without their knowing it.

- Party merges fold a duplicate place on a static list (``SegmentMember``) and a duplicate
  campaign membership (``CampaignMember``) into the survivor's: the responses both gave add
  up (the earliest time of each kept), nothing is counted twice, and the undo restores each
  row exactly (``kreis.parties.merge_folds``). Every other marketing row that points at a
  party (touches, consents, submissions, visitors, visits, downloads) moves with the merge's
  generic pass, and back with its undo.
- A converted lead's campaign memberships and touches, form submissions and downloads belong
  to its person as well (``integration.services.conversion_carry_over``): a ``post_save``
  receiver on ``Lead``, since leads must not import marketing.
"""

from __future__ import annotations

from django.db.models.signals import post_save

from kreis.leads.models import Lead, LeadStatus
from kreis.marketing.integration.services import RESPONSE_TIMES, conversion_carry_over
from kreis.marketing.models import CampaignMember, SegmentMember
from kreis.parties.merge_folds import register_merge_fold


def register() -> None:
    post_save.connect(
        carry_over_on_conversion, sender=Lead, dispatch_uid="integration.lead_conversion"
    )
    register_merge_fold(SegmentMember, "party", together=("segment",), earliest=("added_at",))
    register_merge_fold(
        CampaignMember,
        "party",
        together=("campaign",),
        earliest=("added_at", *RESPONSE_TIMES),
    )


def carry_over_on_conversion(sender, instance: Lead, created: bool, raw: bool = False, **kw):
    # Only a saved conversion costs queries: other lead saves pass by here at no cost.
    if raw or created or instance.status != LeadStatus.CONVERTED:
        return
    if not instance.converted_person_id:
        return
    update_fields = kw.get("update_fields")
    if update_fields is not None and "converted_person" not in update_fields:
        return
    conversion_carry_over(lead=instance)
