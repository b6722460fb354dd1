"""Merging two parties that were both in a campaign and on a static list: one membership
remains, with the responses of both; the undo brings back each row exactly."""

import datetime as dt

import pytest
from django.utils import timezone

from kreis.marketing.models import (
    Campaign,
    CampaignMember,
    CampaignTouch,
    Consent,
    Segment,
    SegmentMember,
)
from kreis.parties import services
from tests.conftest import client_for
from tests.leads.factories import LeadFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 2, 9, 15, 30, 123456, tzinfo=dt.UTC)


def _values(queryset):
    return sorted(queryset.values(), key=lambda row: row["id"])


@pytest.fixture
def pair(alice):
    def person(last, email):
        return services.party_create(
            actor=alice,
            kind="person",
            first_name="Jana",
            last_name=last,
            emails=[{"value": email}],
        )

    return person("Kraus", "jana@kraus.de"), person("Kraus-Berg", "j.kraus@web.de")


@pytest.fixture
def fair(alice):
    campaign = Campaign.objects.create(name="Frühjahrsmesse", code="messe-2027", channel="event")
    segment = Segment.objects.create(name="Messebesucher", kind="static")
    return campaign, segment


def _both_members(pair, fair, alice, north):
    survivor, merged = pair
    campaign, segment = fair
    lead = LeadFactory(owner=alice, team=north, email="j.kraus@web.de")
    mine = CampaignMember.objects.create(
        campaign=campaign, party=survivor, sent_at=T0 + dt.timedelta(days=1), note="Stand A"
    )
    theirs = CampaignMember.objects.create(
        campaign=campaign,
        party=merged,
        lead=lead,
        sent_at=T0,
        opened_at=T0 + dt.timedelta(hours=2),
        registered_at=T0 + dt.timedelta(days=3),
        note="Anmeldung online",
    )
    SegmentMember.objects.create(segment=segment, party=survivor)
    listed = SegmentMember.objects.create(segment=segment, party=merged, added_by=alice)
    SegmentMember.objects.filter(pk=listed.pk).update(added_at=T0)
    return mine, theirs, lead


def test_merge_folds_the_duplicate_membership_and_undo_restores_both(pair, fair, alice, north):
    survivor, merged = pair
    campaign, segment = fair
    mine, theirs, lead = _both_members(pair, fair, alice, north)
    touch = CampaignTouch.objects.create(campaign=campaign, party=merged, kind="form", at=T0)
    consent = Consent.objects.create(
        party=merged,
        purpose="newsletter",
        channel="email",
        status="granted",
        source="form",
        requested_at=T0,
        confirmed_at=T0,
    )
    before = (
        _values(CampaignMember.objects.all()),
        _values(SegmentMember.objects.all()),
    )

    merge = services.party_merge(actor=alice, survivor=survivor, merged=merged)

    # One membership: the survivor's, with what both did — the earlier sending, the opening
    # and registration only the duplicate had, its lead; the survivor's own note stays.
    member = CampaignMember.objects.get(campaign=campaign)
    assert member.pk == mine.pk
    assert member.party == survivor
    assert member.lead == lead
    assert member.sent_at == T0
    assert member.opened_at == T0 + dt.timedelta(hours=2)
    assert member.registered_at == T0 + dt.timedelta(days=3)
    assert member.note == "Stand A"
    # One place on the list, since the earlier of the two days.
    place = SegmentMember.objects.get(segment=segment)
    assert place.party == survivor
    assert place.added_at == T0
    assert place.added_by == alice
    # Touches and consents simply move.
    touch.refresh_from_db()
    consent.refresh_from_db()
    assert (touch.party, consent.party) == (survivor, survivor)

    undone = services.party_merge_undo(actor=alice, merge=merge)

    assert undone.kept_rows == 0
    assert (
        _values(CampaignMember.objects.all()),
        _values(SegmentMember.objects.all()),
    ) == before
    touch.refresh_from_db()
    consent.refresh_from_db()
    assert (touch.party, consent.party) == (merged, merged)


def test_undo_keeps_a_response_recorded_after_the_merge(pair, fair, alice, north):
    survivor, merged = pair
    campaign, _segment = fair
    mine, theirs, _lead = _both_members(pair, fair, alice, north)
    merge = services.party_merge(actor=alice, survivor=survivor, merged=merged)
    attended = timezone.now()
    CampaignMember.objects.filter(pk=mine.pk).update(
        opened_at=T0 + dt.timedelta(hours=5), attended_at=attended
    )

    undone = services.party_merge_undo(actor=alice, merge=merge)

    # The survivor's row was edited since the merge: it stays as it is now, and the user is
    # told; the duplicate membership is back with the merged party all the same.
    assert undone.kept_rows == 1
    mine.refresh_from_db()
    assert (mine.opened_at, mine.attended_at) == (T0 + dt.timedelta(hours=5), attended)
    back = CampaignMember.objects.get(pk=theirs.pk)
    assert (back.party, back.sent_at, back.note) == (merged, T0, "Anmeldung online")


def test_merge_in_the_browser_counts_the_person_once_in_the_campaign(pair, fair, alice, north):
    survivor, merged = pair
    campaign, _segment = fair
    _both_members(pair, fair, alice, north)
    client = client_for(alice)

    response = client.post(f"/parties/{survivor.pk}/merge/", {"other_id": merged.pk})

    assert response.status_code == 302
    assert list(campaign.members.values_list("party", flat=True)) == [survivor.pk]
