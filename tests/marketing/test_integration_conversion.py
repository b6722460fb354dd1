"""A converted lead's campaigns, touches, form submissions and downloads count for the person
it became, the lead keeping them too."""

import datetime as dt

import pytest
from django.utils import timezone

from kreis.leads.services import lead_convert
from kreis.marketing.models import (
    Campaign,
    CampaignMember,
    CampaignTouch,
    ContentDownload,
    ContentOffer,
    FormSubmission,
    LeadForm,
)
from kreis.parties import services as party_services
from tests.leads.factories import LeadFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 10, 5, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def lead(alice, north):
    return LeadFactory(
        owner=alice,
        team=north,
        status="qualified",
        first_name="Lena",
        last_name="Vogt",
        email="lena.vogt@hafenbau.de",
        company="",
    )


def _campaign(code, channel="web"):
    return Campaign.objects.create(name=code.title(), code=code, channel=channel)


def test_conversion_gives_the_person_the_leads_campaigns_and_touches(lead, alice):
    webinar, fair = _campaign("webinar-crm"), _campaign("messe", channel="event")
    CampaignMember.objects.create(campaign=webinar, lead=lead, sent_at=T0, clicked_at=T0)
    touch = CampaignTouch.objects.create(campaign=webinar, lead=lead, kind="click", at=T0)
    form = LeadForm.objects.create(name="Kontakt", key="kontakt", fields=[])
    submission = FormSubmission.objects.create(
        form=form, lead=lead, outcome="created", data={"email": lead.email}
    )
    offer = ContentOffer.objects.create(
        name="Checkliste", file="offers/c.pdf", filename="c.pdf", content_type="application/pdf"
    )
    download = ContentDownload.objects.create(
        offer=offer, lead=lead, token_hash="a" * 64, expires_at=timezone.now()
    )
    # The person exists already and is on the fair's list; the lead registered for it too.
    person = party_services.party_create(
        actor=alice,
        kind="person",
        first_name="Lena",
        last_name="Vogt",
        emails=[{"value": "lena.vogt@hafenbau.de"}],
    )
    listed = CampaignMember.objects.create(campaign=fair, party=person, sent_at=T0)
    CampaignMember.objects.create(campaign=fair, lead=lead, registered_at=T0 + dt.timedelta(days=1))

    result = lead_convert(actor=alice, lead=lead, create_deal=False)

    assert result.person == person
    member = webinar.members.get()
    assert (member.lead, member.party, member.clicked_at) == (lead, person, T0)
    # In the fair the person is one member: the list place, now with the registration.
    member = fair.members.get()
    assert (member.pk, member.lead, member.party) == (listed.pk, lead, person)
    assert (member.sent_at, member.registered_at) == (T0, T0 + dt.timedelta(days=1))
    for row in (touch, submission, download):
        row.refresh_from_db()
        assert (row.lead, row.party) == (lead, person)


def test_a_conversion_of_a_lead_without_marketing_records_changes_nothing(lead, alice):
    other = _campaign("newsletter", channel="email")
    stranger = party_services.party_create(
        actor=alice, kind="person", first_name="Tim", last_name="Ruhe"
    )
    CampaignMember.objects.create(campaign=other, party=stranger)

    result = lead_convert(actor=alice, lead=lead, create_deal=False)

    assert result.person_created
    assert list(other.members.values_list("party", flat=True)) == [stranger.pk]
    assert not CampaignMember.objects.filter(party=result.person).exists()
