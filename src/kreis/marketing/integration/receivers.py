"""How lead management hooks into the rest of Kreis without their knowing it.

- Party merges fold a duplicate place on a static list (``SegmentMember``) and a duplicate
  campaign membership (``CampaignMember``) into the survivor's: the responses both gave add
  up (the earliest time of each kept), nothing is counted twice, and the undo restores each
  row exactly (``kreis.parties.merge_folds``). Every other marketing row that points at a
  party (touches, consents, submissions, visitors, visits, downloads) moves with the merge's
  generic pass, and back with its undo.
"""

from __future__ import annotations

from kreis.marketing.models import CampaignMember, SegmentMember
from kreis.parties.merge_folds import register_merge_fold

RESPONSE_TIMES = (
    "sent_at",
    "opened_at",
    "clicked_at",
    "registered_at",
    "attended_at",
    "responded_at",
)


def register() -> None:
    register_merge_fold(SegmentMember, "party", together=("segment",), earliest=("added_at",))
    register_merge_fold(
        CampaignMember,
        "party",
        together=("campaign",),
        earliest=("added_at", *RESPONSE_TIMES),
    )
