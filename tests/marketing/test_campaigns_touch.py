"""Touches and first/last-touch attribution of leads and deals."""

from datetime import timedelta

import pytest
from django.utils import timezone

from kreis.leads import services as lead_services
from kreis.leads.models import LeadStatus
from kreis.marketing.campaigns.services import attribute_deal, campaign_for_utm, record_touch
from kreis.marketing.models import (
    Campaign,
    CampaignMember,
    DealAttribution,
    LeadAttribution,
)
from tests.leads.factories import LeadFactory
from tests.parties.factories import PersonFactory
from tests.sales.factories import DealFactory

pytestmark = pytest.mark.django_db


def campaign(code, channel="web"):
    return Campaign.objects.create(name=code.title(), code=code, channel=channel)


def test_first_and_last_touch_follow_the_touch_times():
    spring, autumn, fair = campaign("spring"), campaign("autumn"), campaign("fair")
    lead = LeadFactory()
    now = timezone.now()
    record_touch(campaign=spring, kind="form", at=now - timedelta(days=5), lead=lead)
    record_touch(campaign=autumn, kind="click", at=now - timedelta(days=1), lead=lead)
    # A touch recorded later but dated earlier becomes the first touch.
    record_touch(campaign=fair, kind="import", at=now - timedelta(days=9), lead=lead)
    attribution = LeadAttribution.objects.get(lead=lead)
    assert attribution.first_campaign == fair
    assert attribution.last_campaign == autumn
    # Each campaign has the lead once as a member, with the response the touch stands for.
    assert CampaignMember.objects.filter(lead=lead).count() == 3
    record_touch(campaign=spring, kind="click", lead=lead)
    assert CampaignMember.objects.filter(lead=lead).count() == 3
    member = CampaignMember.objects.get(lead=lead, campaign=spring)
    assert member.responded_at is not None
    assert member.clicked_at is not None
    assert LeadAttribution.objects.get(lead=lead).last_campaign == spring


def test_touches_after_conversion_do_not_move_the_last_touch(alice):
    spring, later = campaign("spring"), campaign("later")
    lead = LeadFactory(status=LeadStatus.QUALIFIED, owner=alice, email="kim@example.org")
    record_touch(campaign=spring, kind="form", at=timezone.now() - timedelta(days=3), lead=lead)
    result = lead_services.lead_convert(actor=alice, lead=lead, amount=500)
    # The converted deal takes the lead's attribution.
    deal_attribution = DealAttribution.objects.get(deal=result.deal)
    assert deal_attribution.first_campaign == spring
    assert deal_attribution.last_campaign == spring
    record_touch(campaign=later, kind="click", at=timezone.now() + timedelta(minutes=1), lead=lead)
    attribution = LeadAttribution.objects.get(lead=lead)
    assert attribution.first_campaign == spring
    assert attribution.last_campaign == spring


def test_a_deal_for_a_touched_customer_is_credited_to_the_touches_before_it(alice):
    print_, web, after = campaign("print"), campaign("web"), campaign("after")
    person = PersonFactory()
    record_touch(
        campaign=print_, kind="manual", at=timezone.now() - timedelta(days=20), party=person
    )
    record_touch(campaign=web, kind="click", at=timezone.now() - timedelta(days=2), party=person)
    deal = DealFactory(contact=person, owner=alice)
    attribution = DealAttribution.objects.get(deal=deal)
    assert (attribution.first_campaign, attribution.last_campaign) == (print_, web)
    record_touch(campaign=after, kind="click", at=timezone.now() + timedelta(days=1), party=person)
    attribute_deal(deal)
    attribution.refresh_from_db()
    assert attribution.last_campaign == web
    # A deal of an untouched customer is credited to nobody.
    assert not DealAttribution.objects.filter(deal=DealFactory(owner=alice)).exists()


def test_campaign_for_utm_ignores_case():
    spring = campaign("spring-fair-2027")
    assert campaign_for_utm("Spring-Fair-2027") == spring
    assert campaign_for_utm("") is None
    assert campaign_for_utm("other") is None


def test_lead_and_deal_pages_show_their_campaigns(alice):
    from django.urls import reverse

    from tests.conftest import client_for

    spring = campaign("spring")
    lead = LeadFactory(status=LeadStatus.QUALIFIED, owner=alice, email="kim@example.org")
    record_touch(campaign=spring, kind="form", at=timezone.now() - timedelta(days=3), lead=lead)
    client = client_for(alice)
    html = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert 'data-testid="campaign-attribution"' in html
    assert "Spring" in html
    # A sales rep sees the campaign's name, without a link into lead management.
    assert reverse("marketing:campaign_detail", args=[spring.pk]) not in html
    deal = lead_services.lead_convert(actor=alice, lead=lead, amount=100).deal
    html = client.get(reverse("sales:detail", args=[deal.pk])).content.decode()
    assert 'data-touch="first"' in html
    assert "Spring" in html


def test_responses_import_from_csv_by_cli(tmp_path, alice):
    from io import StringIO

    from django.core.management import call_command

    mail = campaign("mail-2027")
    lead = LeadFactory(owner=alice, email="ina@example.org")
    path = tmp_path / "responses.csv"
    path.write_text(
        "email;sent;opened\nina@example.org;2027-01-05;x\nnobody@example.org;2027-01-05;\n",
        encoding="utf-8",
    )
    out, err = StringIO(), StringIO()
    call_command(
        "marketing",
        "campaigns",
        "import-responses",
        str(mail.pk),
        str(path),
        stdout=out,
        stderr=err,
    )
    member = CampaignMember.objects.get(campaign=mail, lead=lead)
    assert timezone.localtime(member.sent_at).date().isoformat() == "2027-01-05"
    assert member.opened_at is not None
    assert "1 added" in out.getvalue()
    assert "line 3: no lead or contact found" in err.getvalue()
